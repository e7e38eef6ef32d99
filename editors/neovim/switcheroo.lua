-- switcheroo-lsp in Neovim 0.11+: diagnostics and quick fixes for load_state_dict calls.
-- Copy to ~/.config/nvim/plugin/switcheroo.lua (or paste into init.lua).
-- Needs the `switcheroo-lsp` command on PATH: pip install a wheel built from the source tree (README).
local switcheroo_settings = {
  enable = true,
  severity = "information", -- "error" | "warning" | "information" | "hint"
  run = "onType", -- "onType" | "onSave": when diagnostics are computed
  fixOnSave = false, -- true: the server migrates the file on :write (willSaveWaitUntil)
  assignmentName = "variables", -- variables = KeyMapper.from_torch(state)
  treeNames = "receiver", -- "receiver": unet_variables, vae_variables...; "single": always assignmentName
  preamble = "inline", -- "inline": KeyMapper source in the file; "import": import it
  exclude = {}, -- extra globs to skip, e.g. { "legacy/**" }
  maxFileSize = 2000000, -- bytes; larger buffers are skipped
  hintNonModel = true, -- a hint on optimizer/scheduler calls (no fix for those)
  unsafeFixes = false, -- true: fix-all and fix on save also rewrite calls whose receiver may not be a model
}

vim.lsp.config("switcheroo", {
  cmd = { "switcheroo-lsp" },
  filetypes = { "python" },
  root_markers = { "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", ".git" },
  init_options = switcheroo_settings, -- read at startup
  settings = { switcheroo = switcheroo_settings }, -- answers workspace/configuration
})

vim.lsp.enable("switcheroo")
