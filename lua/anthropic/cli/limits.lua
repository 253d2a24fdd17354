-- `anthropic limits ...`: rate limits of the organization and workspace overrides (read-only).
local common = require "anthropic.cli.common"

local USAGE = [[
usage: anthropic limits [list] [options]

  list [--group-type TYPE] [--model MODEL]   the organization's rate limits
  list --workspace WORKSPACE_ID [--group-type TYPE]
                                             a workspace's overrides (absent = the org value)

  --json                                     print JSON (the API's entries) instead of a table

TYPE: model_group, batch, token_count, files, skills, web_search, ... Rate limits are read-only
through the API; set workspace limits in the Console (the workspace's Rate limits tab).
The admin key comes from ANTHROPIC_ADMIN_KEY.
]]

local function models(e)
  return e.models and table.concat(e.models, ",") or nil
end

-- One table row per limiter of every entry.
local function rows(entries)
  local out = {}
  for _, e in ipairs(entries) do
    for _, l in ipairs(e.limits or {}) do
      out[#out + 1] = { group_type = e.group_type, models = models(e), type = l.type, value = l.value,
        org_limit = l.org_limit }
    end
  end
  return out
end

return common.command {
  name = "limits",
  usage = USAGE,
  default = "list",
  unsupported = {
    update = "rate limits are read-only through the API; open the workspace in the Claude Console and use "
      .. "its Rate limits tab",
    set = "rate limits are read-only through the API; open the workspace in the Claude Console and use "
      .. "its Rate limits tab",
  },
  subcommands = {
    list = {
      flags = { ["group-type"] = "string", model = "string", workspace = "string" },
      run = function(admin, opts)
        local pager, columns
        if opts.workspace then
          if opts.model then error("--model applies to the organization's limits, not to --workspace", 0) end
          pager = admin.workspaces:rate_limits(opts.workspace, { group_type = opts.group_type })
          columns = { { "GROUP", "group_type" }, { "MODELS", "models" }, { "LIMIT", "type" },
            { "VALUE", "value", right = true }, { "ORG LIMIT", "org_limit", right = true } }
        else
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
