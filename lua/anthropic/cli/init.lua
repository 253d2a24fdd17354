-- The `anthropic` command: `anthropic <command> [args...]` runs lua/anthropic/cli/<command>.lua,
-- a module returning function(args) -> exit code (args: the words after the command).
local versions = require "anthropic.versions"

local M = {}

-- One line per command for the usage text; a command is listed only when its module exists.
M.SUMMARIES = {
  { "emulator", "serve a local Anthropic-compatible API (for tests, the demo and examples)" },
  { "messages", "send a prompt and stream the reply to standard output" },
  { "count-tokens", "how many input tokens a prompt takes" },
  { "models", "list the models, or show one" },
  { "batch", "Message Batches: submit a JSONL file of requests, wait, get the results" },
  { "completion", "print a bash or zsh completion script" },
  { "keys", "list, inspect, rename and archive the organization's API keys" },
  { "workspaces", "list, create, rename and archive workspaces" },
  { "members", "manage the members of a workspace and their roles" },
  { "users", "list users, change their roles, remove them" },
  { "invites", "invite people to the organization, list and withdraw invites" },
  { "limits", "show the organization's rate limits and workspace overrides" },
  { "usage", "token usage of the Messages API (and Claude Code), summed" },
  { "cost", "what the organization spent, summed exactly" },
  { "report", "write an HTML report: cost, tokens, cache hit rate, budget burn-down, key rotation" },
  { "plan", "show what applying an organization file would change" },
  { "apply", "make the organization match an organization file" },
  { "export", "write an organization file for the live organization" },
  { "profiles", "list the profiles of the config file, with each key's source and hint" },
  { "doctor", "check the setup: key, network, authentication, workspace, limits, spend (PASS/WARN/FAIL)" },
}

local function searchpath(name)
  if package.searchpath then return package.searchpath(name, package.path) end
  local file = name:gsub("%.", "/")
  for template in package.path:gmatch("[^;]+") do
    local path = template:gsub("%?", file)
    local f = io.open(path, "r")
    if f then
      f:close()
      return path
    end
  end
end

local function module_name(cmd)
  return "anthropic.cli." .. cmd
end

--- The commands there are (those of SUMMARIES whose module exists), in order.
function M.commands()
  local list = {}
  for _, c in ipairs(M.SUMMARIES) do
    if searchpath(module_name(c[1])) then list[#list + 1] = c[1] end
  end
  return list
end

function M.usage()
  local lines = { "usage: anthropic <command> [options]", "", "commands:" }
  for _, c in ipairs(M.SUMMARIES) do
    if searchpath(module_name(c[1])) then lines[#lines + 1] = string.format("  %-12s %s", c[1], c[2]) end
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "global options (for every command):"
  lines[#lines + 1] = "  --api-version V  the API version to send (" .. table.concat(versions.KNOWN, " or ")
    .. "; default " .. versions.DEFAULT .. ", or ANTHROPIC_API_VERSION)"
  lines[#lines + 1] = "  --profile NAME   the config file's profile to use (or ANTHROPIC_PROFILE; docs/profiles.md)"
  lines[#lines + 1] = "  --key-file FILE  read the API key from FILE (mode 600 or 400; before ANTHROPIC_API_KEY)"
  lines[#lines + 1] = "  --admin-key-file FILE  read the admin key from FILE (before ANTHROPIC_ADMIN_KEY)"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Run `anthropic <command> --help` for a command's options."
  return table.concat(lines, "\n") .. "\n"
end

-- The global flags, taken out of argv wherever they stand before a "--" (so both
-- `anthropic --api-version V plan org.lua` and `anthropic plan org.lua --api-version V` work).
-- -> the rest of argv, globals | nil, message
local function take_globals(argv)
  local rest, globals, i = {}, {}, 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i, #argv do rest[#rest + 1] = argv[j] end
      break
    end
    local profile = a:match("^%-%-profile=(.*)$")
    if a == "--profile" then
      profile = argv[i + 1]
      if profile == nil then return nil, "--profile needs a profile's name (see `anthropic profiles`)" end
      i = i + 1
    end
    if profile then
      if profile == "" then return nil, "--profile needs a profile's name (see `anthropic profiles`)" end
      globals.profile = profile
      a = nil
    end
    local file_flag, file = require("anthropic.cli.common").key_file_flag(a, argv[i + 1])
    if file_flag then
      if file == nil or file == "" then
        return nil, "--" .. file_flag .. " needs a file's path (a file holding the key)"
      end
      globals[file_flag:gsub("%-", "_")] = require("anthropic.profiles").expand(file)
      if a == "--" .. file_flag then i = i + 1 end
      a = nil
    end
    local value = a and a:match("^%-%-api%-version=(.*)$")
    if a == "--api-version" then
      value = argv[i + 1]
      if value == nil then
        return nil, "--api-version needs a value (one of " .. table.concat(versions.KNOWN, ", ") .. ")"
      end
      i = i + 1
    end
    if value then
      local why = versions.check(value)
      if why then return nil, "--api-version: " .. why end
      globals.api_version = value
    elseif a then
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return rest, globals
end

-- main(argv) -> exit code. argv[1] is the command.
function M.main(argv)
  local globals
  argv, globals = take_globals(argv or {})
  if not argv then
    io.stderr:write("anthropic: ", globals, "\n")
    return 2
  end
  require("anthropic.cli.common").set_globals(globals)
  local cmd = argv[1]
  if cmd == "-h" or cmd == "--help" or cmd == "help" then
    io.stdout:write(M.usage())
    return 0
  end
  if cmd == "--version" or cmd == "-V" or cmd == "version" then return require("anthropic.cli.shell").version() end
  if not cmd or not cmd:match("^[%a][%w_-]*$") or cmd == "init" or not searchpath(module_name(cmd)) then
    if cmd then require("anthropic.cli.shell").unknown_command(cmd, M.commands()) end
    io.stderr:write(M.usage())
    return 2
  end
  local args = {}
  for i = 2, #argv do args[#args + 1] = argv[i] end
  local code = require("anthropic.cli.shell").run(cmd, function() return require(module_name(cmd))(args) end)
  if type(code) ~= "number" then code = code == false and 1 or 0 end
  return code
end

return M
