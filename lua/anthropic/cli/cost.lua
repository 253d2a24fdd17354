-- `anthropic cost ...`: what the organization spent, from the Admin API's cost report.
local common = require "anthropic.cli.common"
local reports = require "anthropic.reports"

local USAGE = [[
usage: anthropic cost [report] [options]

  --from TIME          start, RFC 3339 or YYYY-MM-DD (UTC); default: 7 days ago at 00:00 UTC
  --to TIME            end (exclusive); default: now
  --by DIMENSION       total, day (default), workspace, description, model
  --json               print JSON instead of a table

Amounts are summed exactly from the report's decimal cents; USD is rounded to the cent only for
display (CENTS is exact). Priority Tier costs are not in the cost report. The admin key comes from
ANTHROPIC_ADMIN_KEY.
]]

-- --by -> the group_by the report needs for it
local GROUP_BY = { workspace = "workspace_id", description = "description", model = "description" }

local function columns(by)
  return {
    { by:upper(), "key" },
    { "USD", function(r) return reports.dollars(r.amount, 2) end, right = true },
    { "CENTS", "amount", right = true },
    { "ROWS", "results", right = true },
  }
end

return common.command {
  name = "cost",
  usage = USAGE,
  default = "report",
  subcommands = {
    report = {
      flags = { from = "string", to = "string", by = "string" },
      run = function(admin, opts)
        local by = opts.by or "day"
        if by ~= "total" and by ~= "day" and not GROUP_BY[by] then
          error("--by must be one of total, day, workspace, description, model (got '" .. by .. "')", 0)
        end
        local params = { starting_at = common.time(opts.from, 6), ending_at = common.time(opts.to),
          group_by = GROUP_BY[by] }
        local buckets, err = admin.cost:report(params):all()
        if not buckets then return nil, err end
        local shown, rows, total = common.summed(reports.cost, buckets, by)
        return shown, { columns = columns(by), json = { by = by, starting_at = params.starting_at,
          ending_at = params.ending_at, currency = total.currency, rows = rows, total = total } }
      end,
    },
  },
}
