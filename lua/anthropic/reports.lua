--- Sums over the Admin API's usage and cost reports (anthropic.reports, also admin.reports).
--   reports.usage(source, by) -> sums | nil, err     token counts, exact (integers)
--   reports.cost(source, by)  -> sums | nil, err     amounts in cents as exact decimal strings
--   reports.rows(sums)        -> array sorted by key, each row with its `key`
--   reports.dollars(cents [, places]) -> "1.23456789" (exact) or rounded to `places`
-- source: the pager from admin.usage:messages / admin.cost:report (every page is read), one raw
-- page ({data = buckets}), or an array of buckets. by: "total" (or nil), "day", "model",
-- "workspace", "api_key" (usage only), "description" (cost only), or a result field name from the
-- lists below. With by = "total" the answer is one sums table; otherwise a map key -> sums.
-- A null dimension is keyed "default" for workspaces (the default workspace) and "none" otherwise.
local decimal = require "anthropic.decimal"

local M = {}

local ALIASES = { workspace = "workspace_id", api_key = "api_key_id" }
local USAGE_DIMENSIONS = { "day", "model", "workspace_id", "api_key_id", "service_tier", "context_window",
  "inference_geo", "speed", "account_id", "service_account_id" }
local COST_DIMENSIONS = { "day", "model", "workspace_id", "description", "cost_type", "service_tier",
  "token_type", "context_window", "inference_geo" }

M.TOKEN_FIELDS = { "input_tokens", "uncached_input_tokens", "cache_read_input_tokens",
  "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "output_tokens", "web_search_requests" }

local function dimension(by, allowed, report)
  if by == nil or by == "total" then return nil end
  local field = ALIASES[by] or by
  for _, d in ipairs(allowed) do
    if d == field then return field end
  end
  local names = { "total" }
  for _, d in ipairs(allowed) do names[#names + 1] = d end
  error(string.format("reports.%s: cannot sum by '%s' (known: %s; also workspace, api_key)", report,
    tostring(by), table.concat(names, ", ")), 3)
end

-- Calls fn(bucket, result) for every result of every bucket; a pager is read to the end first.
-- -> true | nil, err
local function each_result(source, fn)
  if type(source) ~= "table" then error("expected a report pager, page or array of buckets", 3) end
  local buckets = source.data or source
  if type(source.all) == "function" then -- a pager
    local err
    buckets, err = source:all()
    if not buckets then return nil, err end
  end
  for _, bucket in ipairs(buckets) do
    for _, r in ipairs(bucket.results or {}) do fn(bucket, r) end
  end
  return true
end

local function key_of(field, bucket, r)
  if field == "day" then return (bucket.starting_at or ""):sub(1, 10) end
  local v = r[field]
  if v == nil then return field == "workspace_id" and "default" or "none" end
  return tostring(v)
end

-- Collects sums: fresh() makes an empty sums table, add(sums, result) adds a result to it.
local function summarize(source, field, fresh, add)
  local total, groups = fresh(), {}
  local ok, err = each_result(source, function(bucket, r)
    if field then
      local k = key_of(field, bucket, r)
      groups[k] = groups[k] or fresh()
      add(groups[k], r)
    else
      add(total, r)
    end
  end)
  if not ok then return nil, err end
  if field then return groups end
  return total
end

local function count(v)
  return type(v) == "number" and v or 0
end

--- Token sums of a Messages usage report. Each sums table has the fields of M.TOKEN_FIELDS
-- (input_tokens = uncached + cache reads + both cache writes) and `results`, the rows counted.
function M.usage(source, by)
  local field = dimension(by, USAGE_DIMENSIONS, "usage")
  return summarize(source, field, function()
    local s = { results = 0 }
    for _, f in ipairs(M.TOKEN_FIELDS) do s[f] = 0 end
    return s
  end, function(s, r)
    if r.amount ~= nil then error("reports.usage: this is a cost report; use reports.cost", 0) end
    local cc = type(r.cache_creation) == "table" and r.cache_creation or {}
    local stu = type(r.server_tool_use) == "table" and r.server_tool_use or {}
    s.uncached_input_tokens = s.uncached_input_tokens + count(r.uncached_input_tokens)
    s.cache_read_input_tokens = s.cache_read_input_tokens + count(r.cache_read_input_tokens)
    s.ephemeral_5m_input_tokens = s.ephemeral_5m_input_tokens + count(cc.ephemeral_5m_input_tokens)
    s.ephemeral_1h_input_tokens = s.ephemeral_1h_input_tokens + count(cc.ephemeral_1h_input_tokens)
    s.input_tokens = s.uncached_input_tokens + s.cache_read_input_tokens + s.ephemeral_5m_input_tokens
      + s.ephemeral_1h_input_tokens
    s.output_tokens = s.output_tokens + count(r.output_tokens)
    s.web_search_requests = s.web_search_requests + count(stu.web_search_requests)
    s.results = s.results + 1
  end)
end

--- Sums of a cost report: { amount = "cents as an exact decimal string", dollars = "exact",
-- currency = "USD", results = n }. Amounts are added as decimal strings, never as floats.
function M.cost(source, by)
  local field = dimension(by, COST_DIMENSIONS, "cost")
  local sums, err = summarize(source, field, function()
    return { amount = decimal.parse("0"), results = 0 }
  end, function(s, r)
    if r.amount == nil then error("reports.cost: this is a usage report; use reports.usage", 0) end
    local amount, msg = decimal.parse(r.amount)
    if not amount then error("reports.cost: bad amount in the report: " .. msg, 0) end
    local currency = r.currency or "USD"
    if s.currency and s.currency ~= currency then
      error(string.format("reports.cost: mixed currencies (%s and %s)", s.currency, currency), 0)
    end
    s.currency = currency
    s.amount = decimal.add(s.amount, amount)
    s.results = s.results + 1
  end)
  if not sums then return nil, err end
  local function finish(s)
    s.amount = decimal.tostring(s.amount)
    s.dollars = M.dollars(s.amount)
    s.currency = s.currency or "USD"
    return s
  end
  if not field then return finish(sums) end
  for _, s in pairs(sums) do finish(s) end
  return sums
end

--- Cents (decimal string or number) -> dollars as a decimal string: exact, with at least two
-- decimals ("12345.6789" -> "123.456789", "5" -> "0.05"); or rounded half away from zero to
-- `places` decimals.
function M.dollars(cents, places)
  local d, msg = decimal.parse(cents)
  if not d then error("reports.dollars: " .. msg, 2) end
  return decimal.tostring(decimal.shift(d, 2), places, 2)
end

--- A map key -> sums as an array sorted by key; each row gets `key`.
function M.rows(sums)
  local keys = {}
  for k in pairs(sums) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do
    local row = { key = k }
    for f, v in pairs(sums[k]) do row[f] = v end
    out[i] = row
  end
  return out
end

return M
