-- Open the case's file with the shipped setup; record the switcheroo diagnostics Neovim shows
-- (and, with case.actions_on_line, the code actions offered on that line).
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

h.run(function()
  h.load_snippet("switcheroo.lua")
  local buf = h.edit(h.case.file)
  local client = h.attached_client(buf)
  h.record("offset_encoding", client.offset_encoding)
  h.record("diagnostics", h.wait_for_diagnostic(buf, "checkpoint-keys"))
  if h.case.actions_on_line then -- 0-based line whose offered code actions are recorded
    vim.api.nvim_win_set_cursor(0, { h.case.actions_on_line + 1, 0 })
    h.record("offered", h.code_actions_at_cursor(buf, client))
  end
end)
