-- `anthropic report --html FILE`: the month's (or a range's) spend, tokens, cache hit rate, budget
-- burn-down and key-rotation findings as one self-contained HTML page (report_html.lua). The data
-- comes from anthropic.series (the Usage and Cost Analytics API), the key findings from the rules of
-- reconcile/rotation.lua over the organization's keys.
local analytics = require "anthropic.cli.analytics"
local budget = require "anthropic.reconcile.budget"
local common = require "anthropic.cli.common"
local html = require "anthropic.report_html"
local rotation = require "anthropic.reconcile.rotation"
local series = require "anthropic.series"
local shapes = require "anthropic.shapes"
local time = require "anthropic.reconcile.time"

local USAGE = [[
usage: anthropic report --html FILE [options]

  --html FILE          write the report to FILE: one self-contained HTML page (inline SVG and
                       CSS, no script, nothing loaded from the network), for a browser, a phone
                       or an A4 printer
  --since TIME         start: YYYY-MM-DD, RFC 3339, 7d, 12h, today, yesterday, this-month,
                       last-month (UTC); default this-month
  --until TIME         end (exclusive), the same forms; default now
  --budget USD         the month's budget for the burn-down (none without it)
  --max-age-days N     keys older than N days are due for rotation (default 90)
  --idle-days N        active keys with no usage in N days are flagged idle (default 30)

The report holds: cost by day and model, per workspace, per API key and per actor; token usage
and the cache hit rate (cache reads / input tokens) by day; the month's budget burn-down with a
linear projection to the month's end; and the keys due for rotation, idle or inactive. Amounts
equal the API's sums exactly (the tables show them to the cent). The admin key comes from
ANTHROPIC_ADMIN_KEY.
]]

local function check(v, err)
  if v == nil then error(err, 0) end
  return v
end

-- The budget from --budget (a profile's spend_limit caps one client's run, not a month: it is
-- not a budget, as for --chart). -> usd, source | nil
local function budget_limit(opts)
  if opts.budget then
    local n = tonumber(opts.budget)
    if not n or n <= 0 then error("--budget takes an amount in USD greater than 0 (got '" .. opts.budget .. "')", 0) end
    return n, "--budget"
  end
end

local function month_budget(admin, usd, source, now)
  local first, next_first = time.month(now)
  local s = check(series.collect(admin, { metric = "cost", since = first, ["until"] = now, width = "1d" }))
  local c = budget.check({ name = "organization", budget = { monthly_usd = string.format("%.2f", usd),
    warn_at = { 0.8 } } },
    "org", { org = s.exact_total }, now)
  local daily = {}
  for i, b in ipairs(s.buckets) do daily[i] = { day = b.starting_at:sub(1, 10), usd = b.total } end
  return { month = c.month, days = math.floor((next_first - first) / time.DAY),
    limit_usd = c.budget_usd, spent_usd = c.spent_usd,
    projected_usd = c.projected_usd, projected_over = c.projected_over, percent = c.percent, status = c.status,
    source = source, daily = daily }
end

-- Findings for the organization's keys: the rotation and idle rules (reconcile/rotation.lua) for
-- every family (same name, same workspace), and the keys that are not active.
local function key_findings(admin, opts, now)
  local keys = check(admin.api_keys:list({ limit = 1000 }):all())
  local usage = check(rotation.read_usage(admin, now, opts.idle_days))
  local namer = common.namer(admin)
  local families, order = {}, {}
  local findings = {}
  for _, k in ipairs(keys) do
    local ws = shapes.key_workspace_id(k)
    local id = (ws or "") .. "\0" .. tostring(k.name)
    if not families[id] then
      families[id] = { ws = ws }
      order[#order + 1] = id
    end
    table.insert(families[id], k)
    if k.status ~= "active" and k.status ~= "archived" then
      findings[#findings + 1] = { kind = "inactive", status = k.status, key = k.name, key_id = k.id,
        workspace = namer.workspace(ws),
        text = "key is " .. tostring(k.status) .. "; archive it if it is no longer needed" }
    end
  end
  local entry = { max_age_days = opts.max_age_days, idle_days = opts.idle_days }
  for _, id in ipairs(order) do
    local f = families[id]
    local checks = rotation.evaluate(entry, f, namer.workspace(f.ws), usage, now)
    for _, c in ipairs(checks) do findings[#findings + 1] = c end
  end
  return findings
end

local function run(admin, opts)
  if not opts.html then error("give --html FILE (the file to write the report to)", 0) end
  local now = os.time()
  local since = analytics.parse_time(opts.since or "this-month", "since", now)
  local till = opts["until"] and analytics.parse_time(opts["until"], "until", now) or now
  if till <= since then error("--until must be after --since", 0) end
  opts.max_age_days = opts.max_age_days or 90
  opts.idle_days = opts.idle_days or 30
  for _, f in ipairs { "max_age_days", "idle_days" } do
    if opts[f] < 1 or opts[f] ~= math.floor(opts[f]) then
      error("--" .. f:gsub("_", "-") .. " takes a whole number of days, 1 or more", 0)
    end
  end
  local data = { since = series.iso(since), ["until"] = series.iso(till), generated_at = series.iso(now), cost = {} }
  local range = { since = since, ["until"] = till, width = "1d" }
  local function collect(extra)
    local o = {}
    for k, v in pairs(range) do o[k] = v end
    for k, v in pairs(extra) do o[k] = v end
    return check(series.collect(admin, o))
  end
  for _, by in ipairs { "model", "workspace", "api_key", "actor" } do
    data.cost[by] = collect { metric = "cost", by = by }
  end
  data.usage = collect { metric = "usage", by = "model" }
  data.tokens = {}
  local per_field = {}
  for _, f in ipairs { "uncached_input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
                       "input_tokens", "output_tokens" } do
    per_field[f] = collect { metric = "usage", field = f, names = false }
    data.tokens[f] = per_field[f].total
  end
  data.cache = {}
  for i, b in ipairs(per_field.input_tokens.buckets) do
    data.cache[i] = { day = b.starting_at:sub(1, 10), input_tokens = b.total,
      cache_read_input_tokens = per_field.cache_read_input_tokens.buckets[i].total }
  end
  local usd, source = budget_limit(opts)
  if usd then
    data.budget = month_budget(admin, usd, source, now)
  else
    data.budget_note = "No budget: give --budget USD."
  end
  data.findings = key_findings(admin, opts, now)
  data.findings_note = string.format("Keys older than %d days are due for rotation (due soon within %d days); active "
    .. "keys with no usage in %d days are idle; keys are created in the Console.", opts.max_age_days,
    rotation.DUE_SOON_DAYS, opts.idle_days)
  local page = html.render(data)
  local f, err = io.open(opts.html, "wb")
  if not f then return nil, "cannot write the report: " .. tostring(err) end
  local ok, werr = f:write(page)
  f:close()
  if not ok then return nil, "cannot write the report: " .. tostring(werr) end
  return {}, { text = string.format("wrote %s (%s bytes)\n", opts.html, common.group(#page)),
    json = { file = opts.html, bytes = #page } }
end

return common.command {
  name = "report",
  usage = USAGE,
  default = "html",
  subcommands = {
    html = {
      flags = { html = "string", since = "string", ["until"] = "string", budget = "string",
        ["max-age-days"] = "number", ["idle-days"] = "number" },
      run = run,
    },
  },
}
