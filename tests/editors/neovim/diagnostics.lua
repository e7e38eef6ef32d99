-- Open the case's file with the shipped setup; record the switcheroo diagnostics Neovim shows.
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

h.run(function()
  h.load_snippet("switcheroo.lua")
  local buf = h.edit(h.case.file)
  local client = h.attached_client(buf)
  h.record("offset_encoding", client.offset_encoding)
  h.record("diagnostics", h.wait_for_diagnostic(buf, "checkpoint-keys"))
end)
