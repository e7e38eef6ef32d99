-- switcheroo-lsp in Neovim 0.7 to 0.10: migrate every load_state_dict call of a buffer on :write.
-- Copy next to switcheroo_nvim07.lua. fix_on_save.lua written with the pre-0.11 client API
-- (0.7 has no willSaveWaitUntil, so fixOnSave cannot do this there).
local FIX_ALL = "source.fixAll.switcheroo"
local TIMEOUT_MS = 3000

local function warn(message)
  vim.notify("switcheroo: fix on save skipped: " .. message, vim.log.levels.WARN)
end

local function switcheroo_clients(bufnr)
  local found = {}
  for _, client in ipairs(vim.lsp.get_active_clients()) do
    if client.name == "switcheroo" and vim.lsp.buf_is_attached(bufnr, client.id) then
      found[#found + 1] = client
    end
  end
  return found
end

local function whole_buffer(bufnr, client)
  local last = vim.api.nvim_buf_line_count(bufnr) - 1
  local text = vim.api.nvim_buf_get_lines(bufnr, last, last + 1, true)[1]
  local last_character = vim.lsp.util.character_offset(bufnr, last, #text, client.offset_encoding)
  return {
    start = { line = 0, character = 0 },
    ["end"] = { line = last, character = last_character },
  }
end

local function fix_all(bufnr, client)
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = whole_buffer(bufnr, client),
    context = { only = { FIX_ALL }, diagnostics = {} },
  }
  local response, err = client.request_sync("textDocument/codeAction", params, TIMEOUT_MS, bufnr)
  if not response or response.err then
    return warn(err or response.err.message)
  end
  local provider = client.server_capabilities.codeActionProvider
  local can_resolve = type(provider) == "table" and provider.resolveProvider
  for _, action in ipairs(response.result or {}) do
    if action.kind == FIX_ALL then
      if not action.edit and can_resolve then
        local resolved, resolve_err = client.request_sync("codeAction/resolve", action, TIMEOUT_MS, bufnr)
        if not resolved or resolved.err then
          return warn(resolve_err or resolved.err.message)
        end
        action = resolved.result
      end
      if action.edit then
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      end
    end
  end
end

vim.api.nvim_create_autocmd("BufWritePre", {
  group = vim.api.nvim_create_augroup("switcheroo_fix_on_save", { clear = true }),
  desc = "switcheroo: apply source.fixAll.switcheroo before writing",
  callback = function(args)
    if vim.b[args.buf].switcheroo_fix_on_save == false then
      return
    end
    for _, client in ipairs(switcheroo_clients(args.buf)) do
      fix_all(args.buf, client)
    end
  end,
})
