-- Smoke test of the old client API (Neovim 0.7 to 0.10) with editors/neovim/switcheroo_nvim07.lua:
-- the diagnostic is shown, the quick fix applies, and :write with fixOnSave = true is recorded.
-- Uses only functions that exist in 0.7 (client.request_sync with a dot, no vim.lsp.get_clients).
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

local function request(client, buf, method, params)
  local response, err = client.request_sync(method, params, h.wait_ms, buf)
  if not response or response.err then
    h.fail(method .. " failed: " .. vim.inspect(err or response.err))
  end
  return response.result
end

h.run(function()
  h.load_snippet("switcheroo_nvim07.lua")
  local buf = h.edit(h.case.file)
  local client = h.attached_client(buf)
  h.record("offset_encoding", client.offset_encoding)
  h.record("diagnostics", h.wait_for_diagnostic(buf, "checkpoint-keys"))

  local row, byte_col = h.case.cursor[1] - 1, h.case.cursor[2]
  local position = { line = row, character = vim.lsp.util.character_offset(buf, row, byte_col, client.offset_encoding) }
  local actions = request(client, buf, "textDocument/codeAction", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = position, ["end"] = position },
    context = { diagnostics = {} },
  })
  local quick_fix
  for _, action in ipairs(actions or {}) do
    if action.title == h.case.title then
      quick_fix = action
    end
  end
  if not quick_fix then
    h.fail("no " .. vim.inspect(h.case.title) .. " action offered: " .. vim.inspect(actions))
  end
  if not quick_fix.edit then
    quick_fix = request(client, buf, "codeAction/resolve", quick_fix)
  end
  vim.lsp.util.apply_workspace_edit(quick_fix.edit, client.offset_encoding)
  h.record("text", h.buffer_text(buf))
  vim.cmd("write")
  h.record("written", h.read_file(h.case.file))
end)
