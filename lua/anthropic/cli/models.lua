-- `anthropic models [list|get MODEL]`: the models the key can use (GET /v1/models).
local common = require "anthropic.cli.common"

local USAGE = [[
usage: anthropic models [list] [--limit N] [--json] [--wide]
       anthropic models get MODEL [--json]

  list                 the models, newest first (the default)
  get MODEL            one model, by id or alias
  --limit N            at most N models
  --json               print JSON instead of a table
  --wide               every column, nothing cut to the terminal's width

The key comes from ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN).
]]

local COLUMNS = {
  { "ID", "id", fixed = true }, { "NAME", "display_name" }, { "CREATED", common.day("created_at"), fixed = true },
  { "LIFECYCLE", function(m) return m.lifecycle or "active" end, fixed = true, drop = 2 },
  { "RETIRES", common.day("retires_at"), fixed = true, drop = 1 },
}

local FIELDS = {
  { "ID", "id" }, { "NAME", "display_name" }, { "CREATED", common.date("created_at") },
  { "LIFECYCLE", function(m) return m.lifecycle or "active" end }, { "DEPRECATED", common.date("deprecated_at") },
  { "RETIRES", common.date("retires_at") },
}

return common.command {
  name = "models",
  usage = USAGE,
  default = "list",
  client = "api",
  subcommands = {
    list = {
      flags = { limit = "number" },
      run = function(client, opts)
        local items, err = client.models:list(common.page_params(opts)):all(opts.limit)
        return items, err or { columns = COLUMNS, empty = "(no models)" }
      end,
    },
    get = {
      args = { "MODEL" },
      run = function(client, _, args)
        local m, err = client.models:get(args[1])
        return m, err or { fields = FIELDS }
      end,
    },
  },
}
