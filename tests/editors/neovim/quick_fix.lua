-- Put the cursor on the case's call and apply a code action the way a user does:
-- vim.lsp.buf.code_action({ apply = true }) sends textDocument/codeAction with the cursor line's
-- diagnostics, resolves the action if needed and applies its edit. Records the buffer afterwards.
-- case.title picks the quick fix by title; case.only asks for those kinds instead (fix-all).
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

h.run(function()
  h.load_snippet("switcheroo.lua")
  local buf = h.edit(h.case.file)
  local client = h.attached_client(buf)
  h.record("offset_encoding", client.offset_encoding)
  h.record("diagnostics", h.wait_for_diagnostic(buf, "checkpoint-keys"))

  vim.api.nvim_win_set_cursor(0, h.case.cursor) -- { 1-based line, byte column }
  h.record("offered", h.code_actions_at_cursor(buf, client))

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
