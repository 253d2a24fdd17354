-- `anthropic users ...`: users of the organization (Admin API).
local common = require "anthropic.cli.common"

local USAGE = [==[
usage: anthropic users <subcommand> [options]

  list [--email EMAIL] [--role ROLE[,ROLE]] [--limit N]   users of the organization
  get USER_ID                                              one user
  update USER_ID --role ROLE                               change a user's organization role
  remove USER_ID                                           remove a user from the organization

  --json                                                   print JSON instead of a table

ROLE (update): user, developer, billing, claude_code_user (admin cannot be given through the
API). Users join by invitation: `anthropic invites create EMAIL --role ROLE`. Admins cannot be
removed. The admin key comes from ANTHROPIC_ADMIN_KEY.
]==]

local COLUMNS = {
  { "ID", "id" }, { "EMAIL", "email" }, { "NAME", "name" }, { "ROLE", "role" }, { "ADDED", common.date("added_at") },
}

local function one(u, err)
  return u, err or { fields = COLUMNS }
end

return common.command {
  name = "users",
  usage = USAGE,
  unsupported = {
    create = "users join the organization by invitation: anthropic invites create EMAIL --role ROLE",
    add = "users join the organization by invitation: anthropic invites create EMAIL --role ROLE",
  },
  subcommands = {
    list = {
      flags = { email = "string", role = "list", limit = "number" },
      run = function(admin, opts)
        local items, err = admin.users:list(common.page_params(opts,
          { email = opts.email, roles = opts.role })):all(opts.limit)
        return items, err or { columns = COLUMNS, empty = "(no users)" }
      end,
    },
    get = { args = { "USER_ID" }, run = function(admin, _, args) return one(admin.users:get(args[1])) end },
    update = {
      args = { "USER_ID" }, flags = { role = "string" },
      run = function(admin, opts, args)
        if not opts.role then error("give --role", 0) end
        return one(admin.users:update(args[1], { role = opts.role }))
      end,
    },
    remove = {
      args = { "USER_ID" },
      run = function(admin, _, args)
        local res, err = admin.users:remove(args[1])
        return res, err or { text = "removed " .. args[1] .. "\n" }
      end,
    },
  },
}
