-- `anthropic invites ...`: invitations to the organization (Admin API).
local common = require "anthropic.cli.common"

local USAGE = [==[
usage: anthropic invites <subcommand> [options]

  list [--status S[,S]] [--email EMAIL] [--role ROLE[,ROLE]] [--limit N]
                                 invites; S is pending, accepted or expired
  get INVITE_ID                  one invite
  create EMAIL --role ROLE [--rbac-group ID[,ID]]
                                 invite someone (the invite expires after 21 days), into
                                 these RBAC groups (rbac_group_...)
  delete INVITE_ID               withdraw an invite

  --json                         print JSON instead of a table

ROLE (create): user, developer, billing, claude_code_user (admin cannot be given through the API).
The admin key comes from ANTHROPIC_ADMIN_KEY.
]==]

local COLUMNS = {
  { "ID", "id" }, { "EMAIL", "email" }, { "ROLE", "role" }, { "STATUS", "status" },
  { "INVITED", common.date("invited_at") }, { "EXPIRES", common.date("expires_at") },
}

local function one(i, err)
  return i, err or { fields = COLUMNS }
end

return common.command {
  name = "invites",
  usage = USAGE,
  unsupported = {
    update = "invites cannot be changed; delete the invite and create a new one",
  },
  subcommands = {
    list = {
      flags = { status = "list", email = "string", role = "list", limit = "number" },
      run = function(admin, opts)
        local items, err = admin.invites:list(common.page_params(opts,
          { statuses = opts.status, email = opts.email, roles = opts.role })):all(opts.limit)
        return items, err or { columns = COLUMNS, empty = "(no invites)" }
      end,
    },
    get = { args = { "INVITE_ID" }, run = function(admin, _, args) return one(admin.invites:get(args[1])) end },
    create = {
      args = { "EMAIL" }, flags = { role = "string", ["rbac-group"] = "list" },
      run = function(admin, opts, args)
        if not opts.role then error("give --role", 0) end
        return one(admin.invites:create { email = common.check_name("EMAIL", args[1]), role = opts.role,
          rbac_group_ids = opts.rbac_group })
      end,
    },
    delete = {
      args = { "INVITE_ID" },
      run = function(admin, _, args)
        local res, err = admin.invites:delete(args[1])
        return res, err or { text = "deleted " .. args[1] .. "\n" }
      end,
    },
  },
}
