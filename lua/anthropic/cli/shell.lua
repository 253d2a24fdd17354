-- What the `anthropic` command does around every command, as a shell user expects: --version,
-- "did you mean" for a mistyped command, and SIGINT (Ctrl-C) ending a command with exit code 130
-- and one line on stderr instead of a Lua traceback. See docs/cli.md.
local common = require "anthropic.cli.common"

local M = {}

--- `anthropic --version`: this library's version, libcurl's, and the API version sent.
function M.version()
  local core = require "anthropic.core"
  local versions = require "anthropic.versions"
  io.stdout:write(string.format("anthropic %s (libcurl %s, %s; API version %s)\n", core.VERSION,
    core.curl_version, _VERSION, common.globals.api_version or os.getenv("ANTHROPIC_API_VERSION") or versions.DEFAULT))
  return common.OK
end

function M.unknown_command(cmd, commands)
  if cmd:match("^%-") then
    io.stderr:write("anthropic: ", common.unknown_option(cmd, { version = true }), "\n")
    return
  end
  local extra = { "help", "version" }
  for _, c in ipairs(commands) do extra[#extra + 1] = c end
  io.stderr:write("anthropic: ", common.unknown("command", cmd, extra), "\n")
end

--- Runs fn (a command) -> its exit code. The interpreter (lua.c) turns SIGINT into an error
-- "interrupted!" at the next Lua instruction; a command that does not catch it ends here with
-- exit code 130. Any other error is a bug: it goes on to the interpreter's traceback.
function M.run(cmd, fn)
  local ok, code = xpcall(fn, function(e)
    if common.is_interrupt(e) then return e end
    return debug.traceback(e, 2)
  end)
  if ok then return code end
  if common.is_interrupt(code) then return common.interrupted(cmd) end
  error(code, 0)
end

return M
