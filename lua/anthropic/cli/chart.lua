-- `anthropic usage --chart` and `anthropic cost --chart`: the flags, checked, into
-- anthropic.series.collect and anthropic.chart.render. The terminal decides the defaults: its
-- width (COLUMNS, else tput, else 80), Unicode when the locale is UTF-8 (LC_ALL, LC_CTYPE, LANG),
-- color only on a terminal without NO_COLOR.
local common = require "anthropic.cli.common"
local analytics = require "anthropic.cli.analytics"
local series = require "anthropic.series"
local chart = require "anthropic.chart"
local json = require "anthropic.json"

local M = {}

M.FLAGS = { chart = "boolean", width = "string", ascii = "boolean", budget = "string" }
M.TIME = { hour = "1h", day = "1d", week = "1w", month = "1mo" }
M.TOKENS = { total = "total_tokens", input = "input_tokens", output = "output_tokens",
  uncached = "uncached_input_tokens", cache_read = "cache_read_input_tokens",
  cache_write = "cache_creation_input_tokens",
  requests = "requests", web_search = "web_search_requests" }
M.MAX_WIDTH = 1000

M.HELP = [[
chart (--chart): one bar per hour, day, week or month, stacked by one dimension:
  --chart              draw a bar chart instead of a table (--json: the series as JSON)
  --by DIM[,TIME]      at most one of model, workspace, api_key, actor, service_tier, and one
                       of hour, day (default), week (from Monday), month
  --width N            columns (default: COLUMNS, else the terminal's width, else 80; >= 30)
  --ascii              ASCII only (the default when the locale is not UTF-8)
  --budget AMOUNT[/P]  a budget per month (or /day, /week), in the chart's unit (USD for cost):
                       each bar marks its share, bars past it end in "!", and the month's spend
                       is shown against it
]]

M.USAGE_HELP = M.HELP .. [[
  --tokens WHAT        what usage charts count: total (default), input, output, uncached,
                       cache_read, cache_write, requests, web_search
]]

--- flags + the chart's flags for `metric` (a new table); usage also has --tokens
function M.flags(flags, metric)
  local out = {}
  for k, v in pairs(flags) do out[k] = v end
  for k, v in pairs(M.FLAGS) do out[k] = v end
  if metric == "usage" then out.tokens = "string" end
  return out
end

local function sorted(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- Whether the locale's characters are UTF-8 (the first of LC_ALL, LC_CTYPE, LANG that is set).
function M.utf8_locale(getenv)
  getenv = getenv or os.getenv
  for _, v in ipairs { "LC_ALL", "LC_CTYPE", "LANG" } do
    local x = getenv(v)
    if x and x ~= "" then return x:lower():gsub("%-", ""):find("utf8", 1, true) ~= nil end
  end
  return false
end

--- --by for a chart -> dimension | nil, time bucket width (raises a usage message)
function M.by(list)
  local dim, width
  for _, b in ipairs(list or {}) do
    if M.TIME[b] then
      if width then error("--chart: --by takes one time bucket (hour, day, week or month)", 0) end
      width = M.TIME[b]
    elseif series.BY[b] then
      if dim then error("--chart: --by takes one dimension to stack by (got " .. dim .. " and " .. b .. ")", 0) end
      dim = b
    else
      error("--chart: --by takes one of " .. table.concat(series.BY_ORDER, ", ")
        .. " and one of hour, day, week, month (got '" .. b .. "')", 0)
    end
  end
  return dim, width or "1d"
end

--- --width -> columns (raises a usage message)
function M.width(value)
  local n = tonumber(value)
  if not n or n ~= math.floor(n) or n < chart.MIN_WIDTH or n > M.MAX_WIDTH then
    error(string.format("--width must be a whole number of columns from %d to %d (got '%s')", chart.MIN_WIDTH,
      M.MAX_WIDTH, tostring(value)), 0)
  end
  return math.floor(n)
end

--- --budget AMOUNT[/day|/week|/month] -> { amount, period } (raises a usage message)
function M.budget(value)
  local amount, period = value:match("^%$?([%d%.,_]+)/(%a+)$")
  if not amount then amount, period = value:match("^%$?([%d%.,_]+)$"), "month" end
  local n = amount and tonumber((amount:gsub("[,_]", "")))
  if not n or n <= 0 or n ~= n or n == math.huge or not chart.PERIODS[period] then
    error("--budget takes an amount a month, or per /day, /week or /month: 500, $500/month, 20/day (got '"
      .. value .. "')", 0)
  end
  return { amount = n, period = period }
end

--- Raises a usage message when a chart's flag comes without --chart.
function M.refuse(opts)
  for _, f in ipairs { "width", "ascii", "budget", "tokens" } do
    if opts[f] ~= nil then error("--" .. f .. " goes with --chart", 0) end
  end
end

--- The chart of `metric` ("usage" | "cost") for the command's opts. -> value, view
function M.run(admin, opts, metric)
  if opts.legacy then error("--chart reads the analytics API; drop --legacy", 0) end
  if opts.csv then error("--chart and --csv cannot be combined (--chart --json prints the series)", 0) end
  if opts.bucket then error("--bucket belongs to --legacy; with --chart use --by hour|day|week|month", 0) end
  local by, width = M.by(opts.by)
  local columns = opts.width and M.width(opts.width) or common.terminal_width() or 80
  if columns < chart.MIN_WIDTH then columns = chart.MIN_WIDTH end
  if columns > M.MAX_WIDTH then columns = M.MAX_WIDTH end
  local budget = opts.budget and M.budget(opts.budget)
  local field
  if opts.tokens then
    field = M.TOKENS[opts.tokens]
    if not field then
      error("--tokens takes " .. table.concat(sorted(M.TOKENS), ", ") .. " (got '" .. opts.tokens .. "')", 0)
    end
  end
  local now = os.time()
  local since = analytics.parse_time(opts.since or opts.from or "7d", opts.since and "since" or "from", now)
  local till = opts["until"] or opts.to
  till = till and analytics.parse_time(till, opts["until"] and "until" or "to", now) or now
  if till <= since then error("--until must be after --since", 0) end
  local s, err = series.collect(admin, { metric = metric, since = since, ["until"] = till, width = width, by = by,
    field = field, filters = { models = opts.model, workspace_ids = opts.workspace, api_key_ids = opts.key_id,
      service_tiers = opts.service_tier, actor_ids = opts.actor } })
  if not s then
    if type(err) == "table" and err.kind == "config" then error(err.message, 0) end
    return nil, err
  end
  if opts.json then -- the series, for scripts (arrays stay arrays when empty)
    opts.json = nil
    s.keys = json.array(s.keys)
    return s, { text = json.encode(s) .. "\n" }
  end
  local text = chart.render(s, { width = columns, ascii = opts.ascii or not M.utf8_locale(), color = common.color(),
    budget = budget })
  return s, { text = text }
end

return M
