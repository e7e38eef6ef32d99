-- Run a switcheroo command (workspace/executeCommand) from Neovim, as the README shows, and let
-- Neovim apply the server's workspace/applyEdit. Files that were not open are loaded into buffers
-- and left modified (that is how Neovim applies edits), so the script then runs :wall.
-- Records the text of every case.files entry on disk afterwards.
local h = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

local function changed_buffers()
  local out = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].modified then
      out[#out + 1] = vim.api.nvim_buf_get_name(buf)
    end
  end
  table.sort(out)
  return out
end

h.run(function()
  h.load_snippet("switcheroo.lua")
  local buf = h.edit(h.case.file)
  local client = h.attached_client(buf)
  h.wait_for_diagnostic(buf, "checkpoint-keys")

  local arguments = h.case.arguments
  if arguments == "current-uri" then
    arguments = { vim.uri_from_bufnr(buf) }
  end
  local reply
  client:exec_cmd({ title = h.case.command, command = h.case.command, arguments = arguments }, { bufnr = buf }, function(err, result)
    reply = { err = err or vim.NIL, result = result or vim.NIL }
  end)
  h.wait_for("the reply to " .. h.case.command, function()
    return reply ~= nil
  end)
  if reply.err ~= vim.NIL then
    h.fail(h.case.command .. " failed: " .. vim.inspect(reply.err))
  end
  h.wait_for(#h.case.files .. " changed buffers after " .. h.case.command, function()
    return #changed_buffers() >= #h.case.files
  end)
  h.record("changed_buffers", changed_buffers())
  vim.cmd("wall")
  local written = {}
  for _, path in ipairs(h.case.files) do
    written[path] = h.read_file(path)
  end
  h.record("written", written)
end)
