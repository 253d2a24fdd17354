-- :Claude <prompt>  streams Claude's reply into a scratch buffer (docs/embedding.md#neovim)
-- :ClaudeStop       cancels the reply of the current buffer, or every reply in progress
if vim.g.loaded_claude then return end
vim.g.loaded_claude = true

vim.api.nvim_create_user_command("Claude", function(cmd)
  require("claude").ask(cmd.args)
end, { nargs = "+", desc = "Stream Claude's reply to <prompt> into a scratch buffer" })

vim.api.nvim_create_user_command("ClaudeStop", function()
  require("claude").stop()
end, { nargs = 0, desc = "Cancel Claude's reply in this buffer, or every reply in progress" })
