-- Open the case's file with the shipped setup, put the cursor at case.cursor ({row, byte col}),
-- and record what Neovim would show: the hover's Markdown and its lines as Neovim renders them
-- for the hover window, then the code lenses Neovim gets for the buffer (titles and lines).
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

-- The README's snippet: open a checkpoint lens's tree in a read-only scratch buffer.
vim.lsp.commands["switcheroo.checkpointTree"] = function(command, ctx)
  local client = assert(vim.lsp.get_client_by_id(ctx.client_id))
  client:request("workspace/executeCommand", command, function(err, result)
    if err or not result then
      vim.notify("switcheroo: " .. vim.inspect(err), vim.log.levels.ERROR)
      return
    end
    vim.cmd("vnew")
    vim.api.nvim_buf_set_lines(0, 0, -1, false, vim.split(result.text, "\n", { trimempty = true }))
    vim.bo.buftype, vim.bo.bufhidden, vim.bo.modifiable = "nofile", "wipe", false
  end)
end

h.run(function()
  h.load_snippet("switcheroo.lua")
  local buf = h.edit(h.case.file)
  local client = h.attached_client(buf)
  h.wait_for_diagnostic(buf, "checkpoint-keys")
  vim.api.nvim_win_set_cursor(0, h.case.cursor)

  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/hover", params, h.wait_ms)
  local hover
  for _, response in pairs(responses or {}) do
    if response.err then
      h.fail("textDocument/hover failed: " .. vim.inspect(response.err))
    end
    hover = hover or response.result
  end
  if hover == nil then
    h.fail("no hover at " .. vim.inspect(h.case.cursor))
  end
  h.record("markdown", hover.contents.value)
  h.record("shown", vim.lsp.util.convert_input_to_markdown_lines(hover.contents))

  vim.lsp.codelens.refresh({ bufnr = buf })
  local lenses
  h.wait_for("code lenses", function()
    lenses = vim.lsp.codelens.get(buf)
    return lenses ~= nil and #lenses > 0 and lenses[1].command ~= nil
  end)
  local seen = {}
  for _, lens in ipairs(lenses) do
    seen[#seen + 1] = { line = lens.range.start.line, title = lens.command.title, command = lens.command.command }
  end
  h.record("lenses", seen)

  -- Run the lens on the call's line, as `:lua vim.lsp.codelens.run()` there does.
  vim.api.nvim_win_set_cursor(0, { lenses[1].range.start.line + 1, 0 })
  vim.lsp.codelens.run()
  h.wait_for("the checkpoint tree buffer", function()
    return vim.bo.buftype == "nofile" and vim.api.nvim_buf_line_count(0) > 3
  end)
  h.record("tree", vim.api.nvim_buf_get_lines(0, 0, -1, true))
end)
