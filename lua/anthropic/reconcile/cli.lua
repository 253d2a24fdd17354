--- What `anthropic plan`, `apply` and `export` share: flags, the admin client, output and exit
-- codes. Exit codes: 0 no changes (plan) / converged (apply) / written (export), 1 error, 2
-- changes (plan only). Usage errors exit 1 too, since 2 means "changes" for plan.
local common = require "anthropic.cli.common"
local errors = require "anthropic.error"
local reconcile = require "anthropic.reconcile"

local M = {}

M.OK, M.ERROR, M.CHANGES = 0, 1, 2

M.SAFETY_FLAGS = { ["allow-archive"] = "boolean", ["allow-mass-removal"] = "boolean", ["allow-empty"] = "boolean" }

M.SAFETY_USAGE = [[
  --allow-archive        allow irreversible archives (a workspace, or a key with status "archived")
  --allow-mass-removal   allow pruning more than 25% of a managed set of 4 or more
  --allow-empty          allow pruning every object of a managed set
]]

function M.fail(name, msg)
  if errors.is_error(msg) and msg.kind == "config" then msg = msg.message end
  io.stderr:write("anthropic ", name, ": ", tostring(msg), "\n")
  return M.ERROR
end

--- flags plus the safety flags
function M.with_safety(flags)
  local all = {}
  for k, v in pairs(M.SAFETY_FLAGS) do all[k] = v end
  for k, v in pairs(flags) do all[k] = v end
  return all
end

--- Parses args with flags (plus --help). -> opts, positional | nil (usage printed; the exit code second)
function M.parse(name, usage, args, flags, nargs)
  local opts, positional = common.parse(args, flags)
  if not opts then
    M.fail(name, positional)
    io.stderr:write("Run `anthropic ", name, " --help` for usage.\n")
    return nil, M.ERROR
  end
  if opts.help then
    io.stdout:write(usage)
    return nil, M.OK
  end
  if #positional ~= nargs then
    io.stderr:write(usage)
    return nil, M.ERROR
  end
  return opts, positional
end

--- The plan and apply options from the flags.
function M.options(opts)
  return { allow_archive = opts.allow_archive, allow_mass_removal = opts.allow_mass_removal,
           allow_empty = opts.allow_empty }
end

--- The admin client (ANTHROPIC_ADMIN_KEY, ANTHROPIC_BASE_URL). -> admin | nil, message
function M.admin()
  local ok, admin = pcall(common.admin)
  if not ok then return nil, (tostring(admin):gsub("^[^:\n]*%.lua:%d+: ", "")) end
  return admin
end

--- Loads an organization file. -> config | nil, message
function M.load(path)
  local config, err = reconcile.load_file(path)
  if not config then return nil, err.message end
  return config
end

function M.write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:write(text)
  f:close()
  return true
end

return M
