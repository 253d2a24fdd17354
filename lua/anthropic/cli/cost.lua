-- `anthropic cost ...`: what the organization spent, from the Admin API's cost report.
local common = require "anthropic.cli.common"
local reports = require "anthropic.reports"
local analytics = require "anthropic.cli.analytics"
local chart = require "anthropic.cli.chart"
local decimal = require "anthropic.decimal"

local USAGE = [[
usage: anthropic cost [options]                 spend in USD (the Usage and Cost Analytics API)
       anthropic cost --legacy [legacy options]  the legacy cost report (also: cost report)

  --since TIME         start: YYYY-MM-DD, RFC 3339, 7d, 12h, today, yesterday, this-month,
                       last-month (UTC); default 7d
  --until TIME         end (exclusive), the same forms; default now
  --by DIM[,DIM]       model, workspace, api_key, actor, actor_type, service_tier, context_window,
                       inference_geo, speed, product, user_profile, cost_type, token_type; and day
                       or hour for one row per day or hour. Default: one row for the whole range.
  --model, --workspace, --key-id, --service-tier, --actor   filters, as for anthropic usage
  --json               print JSON instead of a table
  --csv                print CSV instead of a table

Amounts are summed exactly from the API's decimal cents; USD is rounded to the cent only for
display (CENTS is exact). Ranges longer than 31 days are read 31 days at a time and summed.

legacy (--legacy, or the report subcommand): the cost report endpoint, still supported:
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

local function new_sums() return { amount = "0", requests = 0, counted = true } end

local function add(acc, r)
  acc.amount = decimal.tostring(decimal.add(acc.amount, r.cost.amount))
  if type(r.cost.requests) == "number" then acc.requests = acc.requests + r.cost.requests else acc.counted = false end
end

-- The analytics API's cost, summed by --by.
local function run_analytics(admin, opts, legacy)
  if opts.chart then return chart.run(admin, opts, "cost") end
  chart.refuse(opts)
  if opts.legacy then return legacy(admin, opts) end
  local names, group_by, width = analytics.by(opts.by, true)
  local params, since, till = analytics.params(opts, group_by, width)
  local rows, err = analytics.read(function(p) return admin.analytics:cost(p) end, params, since, till)
  if not rows then return nil, err end
  local merged = analytics.merge(rows, names, group_by, width, new_sums, add)
  table.sort(merged, function(a, b)
    if a.starting_at ~= b.starting_at then return (a.starting_at or "") < (b.starting_at or "") end
    local c = decimal.compare(a.acc.amount, b.acc.amount)
    if c ~= 0 then return c > 0 end
    return a.key < b.key
  end)
  local range = analytics.iso(since) .. " .. " .. analytics.iso(till)
  local shown, json_rows, total = {}, {}, new_sums()
  for i, m in ipairs(merged) do
    local requests = m.acc.counted and m.acc.requests or nil
    shown[i] = { values = m.values, starting_at = m.starting_at, range = range, amount = m.acc.amount,
      requests = requests }
    local j = analytics.json_row(m, names, group_by, nil)
    j.amount, j.dollars, j.requests = m.acc.amount, reports.dollars(m.acc.amount), requests
    json_rows[i] = j
    total.amount = decimal.tostring(decimal.add(total.amount, m.acc.amount))
    if requests then total.requests = total.requests + requests else total.counted = false end
  end
  local total_row = { label = "TOTAL", values = {}, amount = total.amount,
    requests = total.counted and total.requests or nil }
  if #merged ~= 1 or #names + (width and 1 or 0) > 0 then shown[#shown + 1] = total_row end
  local cols = analytics.key_columns(names, width)
  cols[#cols + 1] = { "USD", function(r) return reports.dollars(r.amount, 2) end, right = true }
  cols[#cols + 1] = { "CENTS", "amount", right = true }
  cols[#cols + 1] = { "REQUESTS", "requests", right = true }
  return analytics.output(opts, shown, cols, { by = names, time_bucket_width = width, currency = "USD",
    starting_at = analytics.iso(since), ending_at = analytics.iso(till), rows = json_rows,
    total = { amount = total.amount, dollars = reports.dollars(total.amount), requests = total_row.requests } })
end

local function run_legacy(admin, opts)
  if opts.csv then error("--csv needs the analytics API (without --legacy)", 0) end
  if opts.since then opts.from = analytics.iso(analytics.parse_time(opts.since, "since")) end
  if opts["until"] then opts.to = analytics.iso(analytics.parse_time(opts["until"], "until")) end
  if opts.by and opts.by[2] then error("--by takes one dimension with --legacy", 0) end
  local by = opts.by and opts.by[1] or "day"
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
end

return common.command {
  name = "cost",
  usage = USAGE .. "\n" .. chart.HELP,
  default = "analytics",
  subcommands = {
    analytics = {
      flags = chart.flags(analytics.FLAGS),
      run = function(admin, opts) return run_analytics(admin, opts, run_legacy) end,
    },
    report = {
      flags = { from = "string", to = "string", by = "list", legacy = "boolean" },
      run = run_legacy,
    },
  },
}
