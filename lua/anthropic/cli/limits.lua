-- `anthropic limits ...`: rate limits of the organization, and a workspace's (list and set).
local common = require "anthropic.cli.common"
local json = require "anthropic.json"

local USAGE = [[
usage: anthropic limits [list] [options]
       anthropic limits set WORKSPACE_ID --group-type TYPE [--model MODEL] --limit TYPE=VALUE ...

  list [--group-type TYPE] [--model MODEL]   the organization's rate limits
  list --workspace WORKSPACE_ID [--group-type TYPE] [--inherited]
                                             a workspace's overrides; with --inherited also the
                                             values it inherits (SOURCE organization)
  set WORKSPACE_ID --group-type TYPE [--model MODEL] --limit LIMIT=VALUE[,LIMIT=VALUE]
                                             set a workspace's limits for one group (--model
                                             names the model group: any model or alias of it;
                                             --rate-limit-id ID instead of both). VALUE is a
                                             whole number, or "inherit" to clear the override.
                                             Prints the group's entry afterwards.

  --json                                     print JSON (the API's entries) instead of a table

TYPE: model_group, batch, token_count, files, skills, web_search. LIMIT: requests_per_minute,
input_tokens_per_minute, output_tokens_per_minute, input_tokens_per_minute_cache_aware,
tokens_per_minute, tokens_per_day, ... A workspace value above the organization's is stored, but
the organization's limit still applies (the lower one is enforced). Changes take effect within
about an hour. The admin key comes from ANTHROPIC_ADMIN_KEY.
]]

local function models(e)
  return e.models and table.concat(e.models, ",") or nil
end

-- The group's type: `group.type` (API version 2026-10-21) or `group_type` (2023-06-01).
local function group_type(e)
  return type(e.group) == "table" and e.group.type or e.group_type
end

-- One table row per limiter of every entry.
local function rows(entries)
  local out = {}
  for _, e in ipairs(entries) do
    for _, l in ipairs(e.limits or {}) do
      out[#out + 1] = { group_type = group_type(e), models = models(e), type = l.type, value = l.value,
        org_limit = l.org_limit, source = type(l.source) == "table" and l.source.type or nil }
    end
  end
  return out
end

local WS_COLUMNS = { { "GROUP", "group_type" }, { "MODELS", "models" }, { "LIMIT", "type" },
  { "VALUE", "value", right = true }, { "ORG LIMIT", "org_limit", right = true }, { "SOURCE", "source" } }

-- --limit LIMIT=VALUE items -> the API's limits list (VALUE "inherit" -> null).
local function limit_values(items)
  if not items or #items == 0 then
    error("--limit LIMIT=VALUE is required (for example --limit requests_per_minute=1000)", 0)
  end
  local out = {}
  for _, item in ipairs(items) do
    local t, v = item:match("^([%w_]+)=(.+)$")
    if not t then error("--limit takes LIMIT=VALUE (got '" .. item .. "')", 0) end
    if v == "inherit" or v == "null" then
      out[#out + 1] = { type = t, value = json.null }
    else
      local n = v:match("^%d+$") and tonumber(v)
      if not n then
        error("--limit " .. t .. ": the value must be a whole number >= 0 or 'inherit' (got '" .. v .. "')", 0)
      end
      out[#out + 1] = { type = t, value = math.floor(n) }
    end
  end
  return out
end

-- The organization's rate-limit id of --group-type/--model, or --rate-limit-id.
local function rate_limit_id(admin, opts)
  if opts.rate_limit_id then return opts.rate_limit_id end
  if not opts.group_type then
    error("set needs --group-type TYPE (and --model for model_group), or --rate-limit-id", 0)
  end
  if opts.group_type == "model_group" and not opts.model then
    error("--group-type model_group needs --model MODEL (any model of the group)", 0)
  end
  local groups, err = admin.rate_limits:list { group_type = opts.group_type, model = opts.model }:all()
  if not groups then return nil, err end
  if not groups[1] then return nil, "the organization has no " .. opts.group_type .. " rate limit group" end
  return groups[1].id
end

return common.command {
  name = "limits",
  usage = USAGE,
  default = "list",
  unsupported = {
    update = "use `anthropic limits set WORKSPACE_ID --group-type TYPE --limit LIMIT=VALUE`; the organization's "
      .. "own limits are not settable through the API",
  },
  subcommands = {
    set = {
      args = { "WORKSPACE_ID" },
      flags = { ["group-type"] = "string", model = "string", limit = "list", ["rate-limit-id"] = "string" },
      run = function(admin, opts, args)
        local values = limit_values(opts.limit)
        local id, err = rate_limit_id(admin, opts)
        if not id then return nil, err end
        local entry
        entry, err = admin.workspaces:update_rate_limits(args[1], id, { limits = values })
        if not entry then return nil, err end
        return rows { entry }, { columns = WS_COLUMNS, json = entry,
          empty = "(no overrides left: the workspace uses the organization's limits)" }
      end,
    },
    list = {
      flags = { ["group-type"] = "string", model = "string", workspace = "string", inherited = "boolean" },
      run = function(admin, opts)
        local pager, columns
        if opts.workspace then
          if opts.model then error("--model applies to the organization's limits, not to --workspace", 0) end
          pager = admin.workspaces:rate_limits(opts.workspace, { group_type = opts.group_type,
            include_inherited = opts.inherited or nil })
          columns = WS_COLUMNS
        else
          if opts.inherited then error("--inherited applies to --workspace", 0) end
          pager = admin.rate_limits:list { group_type = opts.group_type, model = opts.model }
          columns = { { "GROUP", "group_type" }, { "MODELS", "models" }, { "LIMIT", "type" },
            { "VALUE", "value", right = true } }
        end
        local entries, err = pager:all()
        if not entries then return nil, err end
        return rows(entries), { columns = columns, json = entries,
          empty = opts.workspace and "(no overrides: the workspace uses the organization's limits)" or "(none)" }
      end,
    },
  },
}
