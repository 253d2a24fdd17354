-- `anthropic keys ...`: the organization's API keys (Admin API). Keys are created in the Console.
local common = require "anthropic.cli.common"
local shapes = require "anthropic.shapes"

local USAGE = [[
usage: anthropic keys <subcommand> [options]

  list [--status S] [--workspace ID] [--created-by USER_ID] [--limit N]
                                 API keys; S is active, inactive, archived or expired
  get KEY_ID                     one key
  update KEY_ID [--name NAME] [--status S]
                                 rename, or set the status (active, inactive, archived)
  archive KEY_ID                 archive a key (final: it cannot be made active again)

  --json                         print JSON instead of a table
  --wide                         every column (ids next to names), nothing cut to the terminal's width

API keys cannot be created or deleted through the Admin API: create them in the Console, under
Settings > API keys. The admin key comes from ANTHROPIC_ADMIN_KEY.
]]

-- Names where people look for names (the workspace's and the creator's); their ids in --wide,
-- --json and `keys get`. Rows carry _workspace and _creator, filled by with_names.
local COLUMNS = {
  { "ID", "id", fixed = true }, { "NAME", "name" }, { "STATUS", "status", fixed = true },
  { "WORKSPACE", function(k) return k._workspace or common.workspace(k) end },
  { "WORKSPACE ID", common.workspace, wide = true, fixed = true },
  { "CREATED", common.day("created_at"), fixed = true, drop = 1 },
  { "CREATED BY", function(k) return k._creator or (k.created_by and k.created_by.id) end, drop = 2 },
  { "CREATED BY ID", function(k) return k.created_by and k.created_by.id end, wide = true, fixed = true },
  { "EXPIRES", common.date("expires_at"), wide = true, fixed = true },
  { "HINT", "partial_key_hint", fixed = true, drop = 3 },
}
-- one key: every field, times in full
local FIELDS = {
  { "ID", "id" }, { "NAME", "name" }, { "STATUS", "status" }, { "WORKSPACE", common.workspace },
  { "CREATED", common.date("created_at") }, { "CREATED BY", function(k) return k.created_by and k.created_by.id end },
  { "EXPIRES", common.date("expires_at") }, { "HINT", "partial_key_hint" },
}

-- rows for the table: copies of the keys with the names looked up (the keys stay as the API gave
-- them, for --json)
local function with_names(admin, keys)
  local names = common.namer(admin)
  local rows = {}
  for i, k in ipairs(keys) do
    local r = setmetatable({}, { __index = k })
    r._workspace = names.workspace(shapes.key_workspace_id(k))
    r._creator = k.created_by and names.user(k.created_by.id)
    rows[i] = r
  end
  return rows
end

return common.command {
  name = "keys",
  usage = USAGE,
  unsupported = {
    create = "API keys cannot be created through the Admin API, for security reasons. Create one in the "
      .. "Claude Console, under Settings > API keys; `anthropic keys list` shows it afterwards.",
    delete = "API keys cannot be deleted through the Admin API. Archive one instead: "
      .. "anthropic keys archive KEY_ID",
    remove = "API keys cannot be deleted through the Admin API. Archive one instead: "
      .. "anthropic keys archive KEY_ID",
  },
  subcommands = {
    list = {
      flags = { status = "string", workspace = "string", ["created-by"] = "string", limit = "number" },
      run = function(admin, opts)
        local items, err = admin.api_keys:list(common.page_params(opts, {
          status = opts.status, workspace_id = opts.workspace, created_by_user_id = opts.created_by,
        })):all(opts.limit)
        if not items then return nil, err end
        return with_names(admin, items), { columns = COLUMNS, empty = "(no API keys)", json = items }
      end,
    },
    get = {
      args = { "KEY_ID" },
      run = function(admin, _, args)
        local key, err = admin.api_keys:get(args[1])
        return key, err or { fields = FIELDS }
      end,
    },
    update = {
      args = { "KEY_ID" }, flags = { name = "string", status = "string" },
      run = function(admin, opts, args)
        if not opts.name and not opts.status then error("give --name and/or --status", 0) end
        if opts.name then common.check_name("--name", opts.name) end
        local key, err = admin.api_keys:update(args[1], { name = opts.name, status = opts.status })
        return key, err or { fields = FIELDS }
      end,
    },
    archive = {
      args = { "KEY_ID" },
      run = function(admin, _, args)
        local key, err = admin.api_keys:update(args[1], { status = "archived" })
        return key, err or { fields = FIELDS }
      end,
    },
  },
}
