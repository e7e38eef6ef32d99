-- Shared by the headless Neovim end-to-end tests (driven by tests/editors/test_neovim.py).
--
-- A test script does `local h = dofile(<this file>)` and `h.run(function() ... end)`. The body runs
-- after startup (so filetype detection and vim.lsp.enable work as for a user), reads its case from
-- the JSON file named by $SWITCHEROO_NVIM_CASE, records observations with h.record(), and the
-- harness writes them to $SWITCHEROO_NVIM_RESULT for the Python test to assert on. Any failure (a Lua
-- error, a timeout) prints "FAIL: <what>" with the editor's state to stderr and exits with `cquit 1`.
local M = {}

local function read_file(path)
  local file = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local text = file:read("*a")
  file:close()
  return text
end

local function write_file(path, text)
  local file = assert(io.open(path, "wb"), "cannot write " .. tostring(path))
  file:write(text)
  file:close()
end

--- Clients attached to `bufnr` (every client without it); works from Neovim 0.7 (no get_clients) on.
function M.clients(bufnr, name)
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  local out = {}
  for _, client in ipairs(all) do
    if (name == nil or client.name == name) and (bufnr == nil or vim.lsp.buf_is_attached(bufnr, client.id)) then
      out[#out + 1] = client
    end
  end
  return out
end

M.case = vim.json.decode(read_file(assert(os.getenv("SWITCHEROO_NVIM_CASE"), "SWITCHEROO_NVIM_CASE is not set")))
M.result = {}
M.wait_ms = M.case.wait_ms or 15000
-- $SWITCHEROO_NVIM_LSP_LOG=debug puts every LSP message into $XDG_STATE_HOME/nvim/lsp.log.
vim.lsp.set_log_level(os.getenv("SWITCHEROO_NVIM_LSP_LOG") or "warn")

--- The editor's state, appended to every failure so a red test says what Neovim saw.
local function describe_state()
  local lines = {}
  local ok_clients, clients = pcall(M.clients)
  if ok_clients then
    local names = {}
    for _, client in ipairs(clients) do
      names[#names + 1] = ("%s(id=%d, initialized=%s, encoding=%s)"):format(
        client.name,
        client.id,
        tostring(client.initialized),
        tostring(client.offset_encoding)
      )
    end
    lines[#lines + 1] = "  LSP clients: " .. (#names > 0 and table.concat(names, ", ") or "none")
  end
  local buf = vim.api.nvim_get_current_buf()
  lines[#lines + 1] = ("  current buffer %d: %s (filetype=%s, modified=%s)"):format(
    buf,
    vim.api.nvim_buf_get_name(buf),
    vim.bo[buf].filetype,
    tostring(vim.bo[buf].modified)
  )
  local diagnostics = vim.diagnostic.get(buf)
  lines[#lines + 1] = ("  diagnostics: %d"):format(#diagnostics)
  for _, d in ipairs(diagnostics) do
    lines[#lines + 1] = ("    %d:%d-%d:%d %s %s"):format(d.lnum, d.col, d.end_lnum, d.end_col, tostring(d.code), d.message)
  end
  local messages = vim.api.nvim_exec2 and vim.api.nvim_exec2("messages", { output = true }).output
    or vim.api.nvim_exec("messages", true)
  if messages ~= "" then
    lines[#lines + 1] = "  :messages\n" .. messages
  end
  return table.concat(lines, "\n")
end

--- Stop the editor with a non-zero exit and a readable message.
function M.fail(message)
  io.stderr:write("FAIL: " .. message .. "\n" .. describe_state() .. "\n")
  io.stderr:flush()
  vim.cmd("cquit 1")
  os.exit(1) -- not reached; cquit exits
end

--- Wait (processing events) until predicate() is truthy, or fail naming what did not happen.
function M.wait_for(what, predicate, timeout_ms)
  timeout_ms = timeout_ms or M.wait_ms
  if not vim.wait(timeout_ms, predicate, 20) then
    M.fail(("timed out after %d ms waiting for %s"):format(timeout_ms, what))
  end
end

--- Load one of the shipped editors/neovim/*.lua files exactly as a user would.
function M.load_snippet(name)
  dofile(M.case.snippets_dir .. "/" .. name)
end

function M.record(key, value)
  M.result[key] = value
end

--- Open a file in the current window and return its buffer.
function M.edit(path)
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf()
end

--- Wait until the switcheroo client is attached to `bufnr` and initialized; return it.
function M.attached_client(bufnr)
  local client
  M.wait_for("the switcheroo server to attach to " .. vim.api.nvim_buf_get_name(bufnr), function()
    client = M.clients(bufnr, "switcheroo")[1]
    return client ~= nil and client.initialized
  end)
  return client
end

--- The buffer's text as it would be written (lines joined by "\n", final newline included).
function M.buffer_text(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, true)
  return table.concat(lines, "\n") .. "\n"
end

M.read_file = read_file

--- Diagnostics from the switcheroo client, as plain data (vim.diagnostic columns are bytes).
function M.switcheroo_diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.source == "switcheroo" then
      local lsp = d.user_data and d.user_data.lsp or {}
      out[#out + 1] = {
        lnum = d.lnum,
        col = d.col,
        end_lnum = d.end_lnum,
        end_col = d.end_col,
        code = d.code,
        severity = d.severity,
        message = d.message,
        href = lsp.codeDescription and lsp.codeDescription.href or vim.NIL,
        lsp_range = lsp.range or vim.NIL,
      }
    end
  end
  table.sort(out, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return out
end

--- Wait until a diagnostic with `code` is shown for `bufnr`; return all switcheroo diagnostics.
--- (case.diagnostic_wait_ms, if set, bounds this wait instead of case.wait_ms.)
function M.wait_for_diagnostic(bufnr, code)
  local diagnostics
  M.wait_for(("a %q diagnostic"):format(code), function()
    diagnostics = M.switcheroo_diagnostics(bufnr)
    for _, d in ipairs(diagnostics) do
      if d.code == code then
        return true
      end
    end
    return false
  end, M.case.diagnostic_wait_ms)
  return diagnostics
end

--- The code actions offered at the cursor, asked for as vim.lsp.buf.code_action() does (no `only`).
function M.code_actions_at_cursor(buf, client)
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local line_diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = line })) do
    if d.user_data and d.user_data.lsp then
      line_diagnostics[#line_diagnostics + 1] = d.user_data.lsp
    end
  end
  params.context = { diagnostics = line_diagnostics, triggerKind = 1 }
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, M.wait_ms)
  local actions = {}
  for _, response in pairs(responses or {}) do
    if response.err then
      M.fail("textDocument/codeAction failed: " .. vim.inspect(response.err))
    end
    for _, action in ipairs(response.result or {}) do
      actions[#actions + 1] = { title = action.title, kind = action.kind or vim.NIL, isPreferred = action.isPreferred or false }
    end
  end
  return actions
end

--- Run `body` once Neovim has started; write the recorded result and quit with 0, or fail.
function M.run(body)
  vim.api.nvim_create_autocmd("VimEnter", {
    once = true,
    nested = true, -- so :edit fires FileType and the LSP attaches, as it does for a user
    callback = function()
      local ok, err = xpcall(body, debug.traceback)
      if not ok then
        M.fail("Lua error: " .. tostring(err))
      end
      write_file(assert(os.getenv("SWITCHEROO_NVIM_RESULT"), "SWITCHEROO_NVIM_RESULT is not set"), vim.json.encode(M.result))
      vim.cmd("qall!")
    end,
  })
end

return M
