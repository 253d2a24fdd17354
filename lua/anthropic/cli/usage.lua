-- `anthropic usage ...`: token usage of the Messages API, and Claude Code usage (Admin API reports).
local common = require "anthropic.cli.common"
local reports = require "anthropic.reports"
local decimal = require "anthropic.decimal"
local analytics = require "anthropic.cli.analytics"
local chart = require "anthropic.cli.chart"

local USAGE = [==[
usage: anthropic usage [options]                 token usage (the Usage and Cost Analytics API)
       anthropic usage --legacy [legacy options]  the legacy usage report (also: usage messages)
       anthropic usage claude-code --date YYYY-MM-DD [--limit N]

  --since TIME         start: YYYY-MM-DD, RFC 3339, 7d, 12h, today, yesterday, this-month,
                       last-month (UTC); default 7d
  --until TIME         end (exclusive), the same forms; default now
  --by DIM[,DIM]       model, workspace, api_key, actor, actor_type, service_tier, context_window,
                       inference_geo, speed, product, user_profile; and day or hour for one row
                       per day or hour. Default: one row for the whole range.
  --model M[,M]        only these models
  --workspace ID[,ID]  only these workspaces (wrkspc_...)
  --key-id ID[,ID]     only these API keys (apikey_...)
  --service-tier T[,T] only these service tiers (standard, batch, priority, flex, ...)
  --actor ID[,ID]      only usage attributed to these users, service accounts or keys
  --json               print JSON instead of a table
  --csv                print CSV instead of a table

Ranges longer than 31 days (the API's longest) are read 31 days at a time and summed.

legacy (--legacy, or the messages subcommand): the usage report endpoint, still supported:
  --from TIME          start, RFC 3339 or YYYY-MM-DD (UTC); default: 7 days ago at 00:00 UTC
  --to TIME            end (exclusive); default: now
  --bucket WIDTH       1m, 1h or 1d (default 1d)
  --by DIMENSION       total, day (default), model, workspace, api_key, service_tier,
                       context_window, inference_geo
  --model M[,M]        only these models
  --workspace ID[,ID]  only these workspaces
  --key-id ID[,ID]     only these API keys (apikey_...)
  --service-tier T[,T] only these service tiers (standard, batch, priority, ...)

claude-code: one row per user or API key for that UTC day.

  --json               print JSON instead of a table

Token counts are summed exactly. The admin key comes from ANTHROPIC_ADMIN_KEY.
]==]

-- --by -> the group_by the report needs for it
local GROUP_BY = { model = "model", workspace = "workspace_id", api_key = "api_key_id",
  service_tier = "service_tier", context_window = "context_window", inference_geo = "inference_geo" }

local function usage_columns(by)
  return {
    { by:upper():gsub("_", " "), "key" },
    { "INPUT", "input_tokens", right = true }, { "UNCACHED", "uncached_input_tokens", right = true },
    { "CACHE READ", "cache_read_input_tokens", right = true },
    { "CACHE WRITE", function(r) return r.ephemeral_5m_input_tokens + r.ephemeral_1h_input_tokens end, right = true },
    { "OUTPUT", "output_tokens", right = true }, { "WEB SEARCH", "web_search_requests", right = true },
  }
end

local function actor(r)
  local a = r.actor or {}
  return a.email_address or a.api_key_name
end

local function cost_cents(r)
  local total = "0"
  for _, m in ipairs(r.model_breakdown or {}) do
    local amount = m.estimated_cost and m.estimated_cost.amount
    if amount then total = decimal.add(total, amount) end
  end
  return total
end

-- r.core_metrics[a][b], or nil when any part is missing
local function metric(a, b)
  return function(r)
    local v = r.core_metrics and r.core_metrics[a]
    if b then v = type(v) == "table" and v[b] or nil end
    return v
  end
end

local CLAUDE_CODE_COLUMNS = {
  { "DATE", function(r) return type(r.date) == "string" and r.date:sub(1, 10) or nil end },
  { "ACTOR", actor }, { "CUSTOMER", "customer_type" }, { "TERMINAL", "terminal_type" },
  { "SESSIONS", metric("num_sessions"), right = true },
  { "LINES +", metric("lines_of_code", "added"), right = true },
  { "LINES -", metric("lines_of_code", "removed"), right = true },
  { "COMMITS", metric("commits_by_claude_code"), right = true },
  { "PRS", metric("pull_requests_by_claude_code"), right = true },
  { "COST USD", function(r) return reports.dollars(cost_cents(r), 2) end, right = true },
}

local SUMS = { "requests", "uncached_input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
  "output_tokens", "total_tokens", "web_search_requests" }

local function new_sums()
  local t = {}
  for _, f in ipairs(SUMS) do t[f] = 0 end
  return t
end

local function add(acc, r)
  local u = r.usage
  acc.requests = acc.requests + (type(u.requests) == "number" and u.requests or 0)
  acc.uncached_input_tokens = acc.uncached_input_tokens + u.uncached_input_tokens
  acc.cache_read_input_tokens = acc.cache_read_input_tokens + u.cache_read_input_tokens
  local cc = u.cache_creation or {}
  acc.cache_creation_input_tokens = acc.cache_creation_input_tokens + (cc.ephemeral_5m_input_tokens or 0)
    + (cc.ephemeral_1h_input_tokens or 0)
  acc.output_tokens = acc.output_tokens + u.output_tokens
  acc.total_tokens = acc.total_tokens + u.total_tokens
  acc.web_search_requests = acc.web_search_requests + ((u.server_tool_use or {}).web_search_requests or 0)
end

local HEADERS = { requests = "REQUESTS", uncached_input_tokens = "UNCACHED", cache_read_input_tokens = "CACHE READ",
  cache_creation_input_tokens = "CACHE WRITE", output_tokens = "OUTPUT", total_tokens = "TOTAL TOKENS",
  web_search_requests = "WEB SEARCH" }

-- The analytics API's usage, summed by --by.
local function run_analytics(admin, opts, legacy)
  if opts.chart then return chart.run(admin, opts, "usage") end
  chart.refuse(opts)
  if opts.legacy then return legacy(admin, opts) end
  if opts.bucket then error("--bucket belongs to --legacy; use --by day or --by hour", 0) end
  local names, group_by, width = analytics.by(opts.by, false)
  local params, since, till = analytics.params(opts, group_by, width)
  local rows, err = analytics.read(function(p) return admin.analytics:usage(p) end, params, since, till)
  if not rows then return nil, err end
  local merged = analytics.merge(rows, names, group_by, width, new_sums, add)
  table.sort(merged, function(a, b)
    if a.starting_at ~= b.starting_at then return (a.starting_at or "") < (b.starting_at or "") end
    if a.acc.total_tokens ~= b.acc.total_tokens then return a.acc.total_tokens > b.acc.total_tokens end
    return a.key < b.key
  end)
  local range = analytics.iso(since) .. " .. " .. analytics.iso(till)
  local shown, json_rows, total = {}, {}, new_sums()
  for i, m in ipairs(merged) do
    local row = { values = m.values, starting_at = m.starting_at, range = range }
    for _, f in ipairs(SUMS) do
      row[f] = m.acc[f]
      total[f] = total[f] + m.acc[f]
    end
    shown[i] = row
    local j = analytics.json_row(m, names, group_by, nil)
    for _, f in ipairs(SUMS) do j[f] = m.acc[f] end
    json_rows[i] = j
  end
  local total_row = { label = "TOTAL", values = {} }
  for _, f in ipairs(SUMS) do total_row[f] = total[f] end
  if #merged ~= 1 or #names + (width and 1 or 0) > 0 then shown[#shown + 1] = total_row end
  local columns = analytics.key_columns(names, width)
  for _, f in ipairs(SUMS) do columns[#columns + 1] = { HEADERS[f], f, right = true } end
  return analytics.output(opts, shown, columns, { by = names, time_bucket_width = width,
    starting_at = analytics.iso(since), ending_at = analytics.iso(till), rows = json_rows, total = total })
end

local function run_legacy(admin, opts)
  if opts.csv then error("--csv needs the analytics API (without --legacy)", 0) end
  if opts.since then opts.from = analytics.iso(analytics.parse_time(opts.since, "since")) end
  if opts["until"] then opts.to = analytics.iso(analytics.parse_time(opts["until"], "until")) end
  local by = opts.by and opts.by[1] or "day"
  if opts.by and opts.by[2] then error("--by takes one dimension with --legacy", 0) end
  local params = {
    starting_at = common.time(opts.from, 6), ending_at = common.time(opts.to),
    bucket_width = opts.bucket, group_by = GROUP_BY[by], models = opts.model,
    workspace_ids = opts.workspace, api_key_ids = opts.key_id, service_tiers = opts.service_tier,
  }
  if by ~= "total" and by ~= "day" and not GROUP_BY[by] then
    error("--by must be one of total, day, model, workspace, api_key, service_tier, context_window, "
      .. "inference_geo (got '" .. by .. "')", 0)
  end
  local buckets, err = admin.usage:messages(params):all()
  if not buckets then return nil, err end
  local shown, rows, total = common.summed(reports.usage, buckets, by)
  local json = { by = by, starting_at = params.starting_at, ending_at = params.ending_at,
    bucket_width = opts.bucket or "1d", rows = rows, total = total }
  return shown, { columns = usage_columns(by), json = json }
end

return common.command {
  name = "usage",
  usage = USAGE .. "\n" .. chart.USAGE_HELP,
  default = "analytics",
  subcommands = {
    analytics = {
      flags = chart.flags(analytics.FLAGS, "usage"),
      run = function(admin, opts) return run_analytics(admin, opts, run_legacy) end,
    },
    messages = {
      flags = { from = "string", to = "string", bucket = "string", by = "list", model = "list",
        workspace = "list", ["key-id"] = "list", ["service-tier"] = "list", legacy = "boolean" },
      run = run_legacy,
    },
    ["claude-code"] = {
      flags = { date = "string", limit = "number" },
      run = function(admin, opts)
        local records, err = admin.usage:claude_code(common.page_params(opts,
          { starting_at = opts.date or os.date("!%Y-%m-%d") })):all(opts.limit)
        return records, err or { columns = CLAUDE_CODE_COLUMNS, empty = "(no Claude Code usage that day)" }
      end,
    },
  },
}
