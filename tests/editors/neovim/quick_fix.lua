-- Put the cursor on the case's call and apply a code action the way a user does:
-- vim.lsp.buf.code_action({ apply = true }) sends textDocument/codeAction with the cursor line's
-- diagnostics, resolves the action if needed and applies its edit. Records the buffer afterwards.
-- case.title picks the quick fix by title; case.only asks for those kinds instead (fix-all).
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

--- The code actions the server offers at the cursor, as Neovim asks for them (no `only`).
local function offered_actions(buf, client)
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local line_diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = line })) do
    if d.user_data and d.user_data.lsp then
      line_diagnostics[#line_diagnostics + 1] = d.user_data.lsp
    end
  end
  params.context = { diagnostics = line_diagnostics, triggerKind = 1 }
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, h.wait_ms)
  local actions = {}
  for _, response in pairs(responses or {}) do
    if response.err then
      h.fail("textDocument/codeAction failed: " .. vim.inspect(response.err))
    end
    for _, action in ipairs(response.result or {}) do
      actions[#actions + 1] = { title = action.title, kind = action.kind or vim.NIL, isPreferred = action.isPreferred or false }
    end
  end
  return actions
end

h.run(function()
  h.load_snippet("switcheroo.lua")
  local buf = h.edit(h.case.file)
  local client = h.attached_client(buf)
  h.record("offset_encoding", client.offset_encoding)
  h.record("diagnostics", h.wait_for_diagnostic(buf, "checkpoint-keys"))

  vim.api.nvim_win_set_cursor(0, h.case.cursor) -- { 1-based line, byte column }
  h.record("offered", offered_actions(buf, client))

  local before = h.buffer_text(buf)
  if h.case.only then
    -- The README's fix-all line, verbatim: no filter, the only action offered is applied.
    vim.lsp.buf.code_action({ context = { only = h.case.only }, apply = true })
  else
    vim.lsp.buf.code_action({
      apply = true,
      filter = function(action)
        return action.title == h.case.title
      end,
    })
  end
  h.wait_for("the code action " .. vim.inspect(h.case.title or h.case.only) .. " to change the buffer", function()
    return h.buffer_text(buf) ~= before
  end)
  h.record("text", h.buffer_text(buf))
end)
