-- `anthropic profiles [--json]`: the profiles of the config file (docs/profiles.md), each with
-- where its key comes from and the key's hint (never the key), its workspace and base URL; the
-- default one marked with *. A key that cannot be loaded is said so (on standard error, why).
local common = require "anthropic.cli.common"
local profiles = require "anthropic.profiles"

local USAGE = [[
usage: anthropic profiles [--json]

Lists the profiles of the config file (ANTHROPIC_CONFIG, else $XDG_CONFIG_HOME/anthropic/config.lua,
else ~/.config/anthropic/config.lua): name (* the default), key source, key hint, admin key source,
workspace, base URL. Keys are never printed, only their hints. See docs/profiles.md.
]]

-- The hint of the key a source gives, read as a client would (the source's option alone, so
-- that the environment does not stand in for it). -> hint | nil, message
local function hint_of(source)
  local ok, client = pcall(require("anthropic").new, { profile = false, key_file = source.key_file,
    key_command = source.key_command })
  if not ok then return nil, tostring(type(client) == "table" and client.message or client) end
  local hint, err = client:key_hint()
  client:close()
  if not hint then return nil, err.message end
  return hint
end

local function source_text(file, command, field_file, field_command)
  if file then return field_file .. " " .. file end
  if command then return field_command .. " " .. table.concat(command, " ") end
end

return function(args)
  local opts, code = common.parse_no_args(args, "profiles", { json = "boolean" }, USAGE)
  if not opts then return code end
  local path, why = profiles.path()
  local config, err = profiles.load()
  if err then
    io.stderr:write("anthropic profiles: ", err.message, "\n")
    return common.ERROR
  end
  if not config then
    if opts.json then
      io.stdout:write(common.encode({ path = path, profiles = {} }), "\n")
    else
      io.stdout:write("no config file (", tostring(path), ", from ", tostring(why), "); see docs/profiles.md\n")
    end
    return common.OK
  end
  local rows = {}
  for _, name in ipairs(config.order) do
    local p = config.profiles[name]
    local row = { name = name, default = config.default == name, workspace = p.workspace, base_url = p.base_url,
      key_source = source_text(p.key_file, p.key_command, "key_file", "key_command"),
      admin_key_source = source_text(p.admin_key_file, p.admin_key_command, "admin_key_file", "admin_key_command") }
    if p.key_file or p.key_command then
      local hint, herr = hint_of(p)
      row.key_hint = hint
      if not hint then
        row.key_error = herr
        if not opts.json then io.stderr:write("anthropic profiles: ", name, ": ", herr, "\n") end
      end
    end
    rows[#rows + 1] = row
  end
  local env_key = os.getenv("ANTHROPIC_API_KEY")
  if opts.json then
    io.stdout:write(common.encode({ path = config.path, default = config.default, profiles = rows,
      environment_key = env_key ~= nil and env_key ~= "" or nil }), "\n")
    return common.OK
  end
  io.stdout:write(common.table(rows, {
    { "", function(r) return r.default and "*" or " " end },
    { "NAME", "name" }, { "KEY SOURCE", "key_source" },
    { "KEY HINT", function(r) return r.key_hint or (r.key_error and "(cannot be loaded)") end },
    { "ADMIN KEY", "admin_key_source" }, { "WORKSPACE", "workspace" }, { "BASE URL", "base_url" },
  }))
  if env_key and env_key ~= "" then
    io.stdout:write("note: ANTHROPIC_API_KEY is set: it comes before every profile's key source\n")
  end
  return common.OK
end
