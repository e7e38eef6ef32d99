-- Open the case's file, then :write it. case.setup names the shipped setup file (switcheroo.lua by
-- default); case.route picks how fix-on-save is set up:
--   "snippet": the shipped case.snippet (fix_on_save.lua by default: a synchronous
--              source.fixAll.switcheroo on BufWritePre);
--   "setting": fixOnSave = true, so the server answers textDocument/willSaveWaitUntil;
--   "none":    neither (the control: :write must leave the code alone).
-- Records the file as written and the buffer right after :write returns, without waiting.
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

h.run(function()
  h.load_snippet(h.case.setup or "switcheroo.lua")
  if h.case.route == "snippet" then
    h.load_snippet(h.case.snippet or "fix_on_save.lua")
  elseif h.case.route == "setting" then
    vim.lsp.config("switcheroo", {
      init_options = { fixOnSave = true },
      settings = { switcheroo = { fixOnSave = true } },
    })
  elseif h.case.route ~= "none" then
    h.fail("unknown route " .. vim.inspect(h.case.route))
  end
  local buf = h.edit(h.case.file)
  h.attached_client(buf)
  h.wait_for_diagnostic(buf, "checkpoint-keys") -- the server has the document

  for name, value in pairs(h.case.buffer_vars or {}) do -- e.g. switcheroo_fix_on_save = false
    vim.b[buf][name] = value
  end
  if h.case.append then -- lines "typed" right before :write, inside Neovim's didChange debounce
    vim.api.nvim_buf_set_lines(buf, -1, -1, true, h.case.append)
  end
  vim.cmd("write")
  -- No vim.wait here: an asynchronous fix would land only after this point.
  h.record("modified_after_write", vim.bo[buf].modified)
  h.record("written", h.read_file(h.case.file))
  h.record("buffer", h.buffer_text(buf))
end)
