-- switcheroo-lsp in Neovim 0.7 to 0.10, which have no vim.lsp.config/vim.lsp.enable.
-- Copy to ~/.config/nvim/plugin/switcheroo.lua (or paste into init.lua). Diagnostics and the
-- quick fix work; see the README for what these versions lack (migrate on save).
local switcheroo_settings = {
  enable = true,
  severity = "information",
  run = "onType",
  fixOnSave = false,
  assignmentName = "variables",
  treeNames = "receiver",
  preamble = "inline",
  exclude = {},
  maxFileSize = 2000000,
  hintNonModel = true,
  unsafeFixes = false,
}
local root_markers = { "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", ".git" }
local client_by_root = {}

-- The nearest folder above the buffer holding a root marker, else the buffer's folder.
local function project_root(bufnr)
  local start = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":p:h")
  local dir = start
  while true do
    for _, marker in ipairs(root_markers) do
      if vim.loop.fs_stat(dir .. "/" .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return start
    end
    dir = parent
  end
end

vim.api.nvim_create_autocmd("FileType", {
  group = vim.api.nvim_create_augroup("switcheroo_lsp", { clear = true }),
  pattern = "python",
  callback = function(args)
    if vim.bo[args.buf].buftype ~= "" then
      return
    end
    local root = project_root(args.buf)
    if not client_by_root[root] then
      client_by_root[root] = vim.lsp.start_client({
        name = "switcheroo",
        cmd = { "switcheroo-lsp" },
        root_dir = root,
        init_options = switcheroo_settings,
        settings = { switcheroo = switcheroo_settings },
        on_exit = function()
          client_by_root[root] = nil
        end,
      })
    end
    if client_by_root[root] then
      vim.lsp.buf_attach_client(args.buf, client_by_root[root])
    end
  end,
})
