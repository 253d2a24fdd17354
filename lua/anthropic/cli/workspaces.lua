-- `anthropic workspaces ...`: workspaces of the organization (Admin API).
local common = require "anthropic.cli.common"

local USAGE = [[
usage: anthropic workspaces <subcommand> [options]

  list [--include-archived] [--include-default] [--limit N]
                                          workspaces (--include-default: the default one too)
  get WORKSPACE_ID                        one workspace
  create NAME [--color #RRGGBB]           a new workspace
  update WORKSPACE_ID [--name NAME] [--color #RRGGBB]
                                          rename a workspace, or change its color
  archive WORKSPACE_ID                    archive a workspace (final)

  --json                                  print JSON instead of a table

Members: `anthropic members`; rate limits: `anthropic limits list --workspace ID`.
The admin key comes from ANTHROPIC_ADMIN_KEY.
]]

local function geo(w)
  return w.data_residency and w.data_residency.workspace_geo
end

local COLUMNS = {
  { "ID", "id" }, { "NAME", "name" }, { "CREATED", common.date("created_at") },
  { "ARCHIVED", common.date("archived_at") }, { "GEO", geo }, { "COLOR", "display_color" },
}

-- --color: "#RRGGBB" (checked here: the value is sent as given).
local function color(v)
  if v ~= nil and not v:match("^#%x%x%x%x%x%x$") then error("--color takes a color #RRGGBB (got '" .. v .. "')", 0) end
  return v
end

local function one(w, err)
  return w, err or { fields = COLUMNS }
end

return common.command {
  name = "workspaces",
  usage = USAGE,
  unsupported = {
    delete = "workspaces cannot be deleted; archive one instead: anthropic workspaces archive WORKSPACE_ID",
    remove = "workspaces cannot be deleted; archive one instead: anthropic workspaces archive WORKSPACE_ID",
  },
  subcommands = {
    list = {
      flags = { ["include-archived"] = "boolean", ["include-default"] = "boolean", limit = "number" },
      run = function(admin, opts)
        local items, err = admin.workspaces:list(common.page_params(opts,
          { include_archived = opts.include_archived, include_default = opts.include_default })):all(opts.limit)
        return items, err or { columns = COLUMNS, empty = "(no workspaces besides the default workspace)" }
      end,
    },
    get = { args = { "WORKSPACE_ID" }, run = function(admin, _, args) return one(admin.workspaces:get(args[1])) end },
    create = {
      args = { "NAME" }, flags = { color = "string" },
      run = function(admin, opts, args)
        return one(admin.workspaces:create { name = common.check_name("NAME", args[1]),
          display_color = color(opts.color) })
      end,
    },
    update = {
      args = { "WORKSPACE_ID" }, flags = { name = "string", color = "string" },
      run = function(admin, opts, args)
        if not opts.name and not opts.color then error("give --name or --color", 0) end
        return one(admin.workspaces:update(args[1], { name = opts.name and common.check_name("--name", opts.name),
          display_color = color(opts.color) }))
      end,
    },
    archive = {
      args = { "WORKSPACE_ID" },
      run = function(admin, _, args) return one(admin.workspaces:archive(args[1])) end,
    },
  },
}
