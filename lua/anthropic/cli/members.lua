-- `anthropic members ...`: members of a workspace (Admin API).
local common = require "anthropic.cli.common"

local USAGE = [[
usage: anthropic members <subcommand> WORKSPACE_ID [USER_ID] [options]

  list WORKSPACE_ID [--limit N]              members of a workspace
  get WORKSPACE_ID USER_ID                   one member
  add WORKSPACE_ID USER_ID --role ROLE       add a user to the workspace
  update WORKSPACE_ID USER_ID --role ROLE    change a member's role
  remove WORKSPACE_ID USER_ID                take a member out of the workspace

  --json                                     print JSON instead of a table

ROLE: workspace_user, workspace_developer, workspace_restricted_developer, workspace_admin, or
(update only) workspace_billing. Organization admins are admins of every workspace and cannot be
removed. The admin key comes from ANTHROPIC_ADMIN_KEY.
]]

local COLUMNS = { { "USER", "user_id" }, { "WORKSPACE", "workspace_id" }, { "ROLE", "workspace_role" } }

local function one(m, err)
  return m, err or { fields = COLUMNS }
end

local function role(opts)
  if not opts.role then error("give --role", 0) end
  return opts.role
end

return common.command {
  name = "members",
  usage = USAGE,
  subcommands = {
    list = {
      args = { "WORKSPACE_ID" }, flags = { limit = "number" },
      run = function(admin, opts, args)
        local items, err = admin.members(args[1]):list(common.page_params(opts)):all(opts.limit)
        return items, err or { columns = COLUMNS, empty = "(no members)" }
      end,
    },
    get = {
      args = { "WORKSPACE_ID", "USER_ID" },
      run = function(admin, _, args) return one(admin.members(args[1]):get(args[2])) end,
    },
    add = {
      args = { "WORKSPACE_ID", "USER_ID" }, flags = { role = "string" },
      run = function(admin, opts, args)
        return one(admin.members(args[1]):add { user_id = args[2], workspace_role = role(opts) })
      end,
    },
    update = {
      args = { "WORKSPACE_ID", "USER_ID" }, flags = { role = "string" },
      run = function(admin, opts, args)
        return one(admin.members(args[1]):update(args[2], { workspace_role = role(opts) }))
      end,
    },
    remove = {
      args = { "WORKSPACE_ID", "USER_ID" },
      run = function(admin, _, args)
        local res, err = admin.members(args[1]):remove(args[2])
        return res, err or { text = "removed " .. args[2] .. " from " .. args[1] .. "\n" }
      end,
    },
  },
}
