--- Time series of usage or cost, for charts (anthropic.series; `anthropic usage|cost --chart`,
-- `anthropic report --html`). Reads the Usage and Cost Analytics API (admin.analytics:usage /
-- :cost) in windows of at most 31 days and puts the rows into calendar buckets, every bucket of
-- the range present (empty ones with zeros), stacked by one dimension.
--
--   series.collect(admin, opts) -> s | nil, err
--
-- opts:
--   metric  "cost" | "usage" (required)
--   since   Unix seconds, "YYYY-MM-DD" or an RFC 3339 time (required); rounded down to the hour
--           (width 1h) or the UTC day (the others), as the API does
--   until   the same (exclusive; default now); rounded up the same way
--   width   "1h" | "1d" (default) | "1w" (ISO weeks, from Monday 00:00 UTC) | "1mo" (calendar
--           months); the first and last buckets are cut to the range
--   by      nil (one part, keyed "total") | "model" | "workspace" | "api_key" | "actor" | "service_tier"
--   field   usage only: "total_tokens" (default), "input_tokens" (uncached + cache reads + cache
--           writes), "output_tokens", "uncached_input_tokens", "cache_read_input_tokens",
--           "cache_creation_input_tokens", "requests", "web_search_requests"
--   filters the API's filter params, passed as they are ({ models = {...}, workspace_ids = {...},
--           api_key_ids, service_tiers, actor_ids, ... })
--   names   false: no name lookups (labels are the ids)
--
-- s = { metric, unit = "USD" | "tokens" | "requests", width, by, field, starting_at, ending_at,
--       buckets = { { starting_at, ending_at (RFC 3339), total = n, parts = { [key] = n },
--                     exact = "...", exact_parts = { [key] = "..." } }, ... },  (time order)
--       keys = { largest total first, ties by key }, labels = { [key] = display name },
--       totals = { [key] = n }, exact_totals = { [key] = "..." }, total = n,
--       exact_total = "...", exact_dollars = "..." (cost only) }
-- Numbers are in `unit` (cost: US dollars, as floats, for drawing); the exact_* strings are what to
-- print and compare: cost in cents, exact decimal strings summed with anthropic.decimal (as
-- anthropic.reports does: exact_total equals reports.cost(...).amount over the same range);
-- usage as integer strings. A key is the dimension's id: the model, the workspace id ("default"
-- for the default workspace), the API key id, the actor's user, service account or key id, the
-- service tier; "none" where the API has no value. Labels are the names the Admin API knows
-- (workspace and key names, the user's name or e-mail), else the id; not escaped for display.
local directory = require "anthropic.directory"
local decimal = require "anthropic.decimal"
local errors = require "anthropic.error"
local json = require "anthropic.json"

local M = {}

M.WIDTHS = { ["1h"] = 3600, ["1d"] = 86400, ["1w"] = 7 * 86400, ["1mo"] = true }
M.BY = { model = "model", workspace = "workspace_id", api_key = "api_key_id", actor = "actor",
  service_tier = "service_tier" }
M.BY_ORDER = { "model", "workspace", "api_key", "actor", "service_tier" }
M.FIELDS = { "total_tokens", "input_tokens", "output_tokens", "uncached_input_tokens", "cache_read_input_tokens",
  "cache_creation_input_tokens", "requests", "web_search_requests" }
M.WINDOW = 31 * 86400 -- the longest range one request may span

local function bad(msg)
  return nil, errors.new { kind = "config", message = "series.collect: " .. msg }
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (m > 2 and m - 3 or m + 9) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end

local function utc(y, m, d, h, mi, s)
  return days_from_civil(y, m, d) * 86400 + (h or 0) * 3600 + (mi or 0) * 60 + (s or 0)
end

M.utc = utc

--- RFC 3339 (UTC, seconds) of Unix seconds
function M.iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

--- Unix seconds of a number, "YYYY-MM-DD" or an RFC 3339 time. -> t | nil
function M.time(v)
  if type(v) == "number" then return v == v and math.floor(v) or nil end
  if type(v) ~= "string" then return nil end
  local Y, Mo, D = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if Y then return utc(tonumber(Y), tonumber(Mo), tonumber(D)) end
  local h, mi, s, rest
  Y, Mo, D, h, mi, s, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not Y then return nil end
  rest = rest:gsub("^%.%d+", "")
  local t = utc(tonumber(Y), tonumber(Mo), tonumber(D), tonumber(h), tonumber(mi), tonumber(s))
  if rest == "Z" or rest == "z" then return t end
  local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
  if sign then return t - (sign == "+" and 1 or -1) * (tonumber(oh) * 3600 + tonumber(om) * 60) end
  return nil
end

-- The start of the bucket holding t, and the start of the next one.
local function bucket_of(width, t)
  if width == "1mo" then
    local y, m = tonumber(os.date("!%Y", t)), tonumber(os.date("!%m", t))
    return utc(y, m, 1), (m == 12 and utc(y + 1, 1, 1) or utc(y, m + 1, 1))
  end
  if width == "1w" then
    local day = math.floor(t / 86400)
    local start = (day - (day + 3) % 7) * 86400 -- 1970-01-01 was a Thursday
    return start, start + 7 * 86400
  end
  local step = M.WIDTHS[width]
  local start = t - t % step
  return start, start + step
end

M.bucket_of = bucket_of

local function absent(v) return v == nil or v == json.null end

-- The key of a row's group value.
local function key_of(by, v)
  if not by then return "total" end
  if absent(v) then return by == "workspace" and "default" or "none" end
  if type(v) == "table" then
    local id = v.user_id or v.service_account_id or v.api_key_id
    return absent(id) and "none" or tostring(id)
  end
  return tostring(v)
end

-- A row's value as an exact decimal (cost: cents) and the name of what was counted.
local function usage_value(u, field)
  local function n(v) return type(v) == "number" and v or 0 end
  local cc = type(u.cache_creation) == "table" and u.cache_creation or {}
  local writes = n(cc.ephemeral_5m_input_tokens) + n(cc.ephemeral_1h_input_tokens)
  if field == "input_tokens" then return n(u.uncached_input_tokens) + n(u.cache_read_input_tokens) + writes end
  if field == "cache_creation_input_tokens" then return writes end
  if field == "web_search_requests" then
    return n(type(u.server_tool_use) == "table" and u.server_tool_use.web_search_requests or nil)
  end
  return n(u[field])
end

-- The labels of keys: names the Admin API knows (anthropic.directory), else the key. Failing
-- look-ups leave ids.
local function labels_for(admin, by, keys, actors, names)
  local labels = {}
  for _, k in ipairs(keys) do labels[k] = k end
  if not by then labels.total = "total" return labels end
  if labels.none then labels.none = by == "api_key" and "(no key)" or "(none)" end
  if labels.default then labels.default = "(default)" end
  if names == false or not (by == "workspace" or by == "api_key" or by == "actor") then return labels end
  local function given(v) return not absent(v) and v ~= "" and v or nil end
  for _, k in ipairs(keys) do
    local a = by == "actor" and actors[k]
    if a and a.type == "user_actor" then
      labels[k] = given(a.name) or given(a.email_address) or directory.name(admin, "user", k) or k
    elseif k ~= "none" and k ~= "default" then
      labels[k] = directory.name(admin, by == "workspace" and "workspace" or "api_key", k) or labels[k]
    end
  end
  return labels
end

--- The series of opts (see the top of this file). -> s | nil, err (kind "config" for bad opts)
function M.collect(admin, opts)
  if type(opts) ~= "table" then
    return bad("needs an options table { metric = \"cost\" | \"usage\", since = ... }")
  end
  local metric = opts.metric
  if metric ~= "cost" and metric ~= "usage" then
    return bad("metric must be \"cost\" or \"usage\" (got " .. tostring(metric) .. ")")
  end
  local width = opts.width or "1d"
  if not M.WIDTHS[width] then
    return bad("width must be one of 1h, 1d, 1w, 1mo (got '" .. tostring(width) .. "')")
  end
  local by = opts.by
  if by ~= nil and not M.BY[by] then
    return bad("by must be one of " .. table.concat(M.BY_ORDER, ", ") .. " (got '" .. tostring(by) .. "')")
  end
  local field = metric == "usage" and (opts.field or "total_tokens") or nil
  if metric == "cost" and opts.field ~= nil then return bad("field is for metric \"usage\" only") end
  if field then
    local known = false
    for _, f in ipairs(M.FIELDS) do known = known or f == field end
    if not known then
      return bad("field must be one of " .. table.concat(M.FIELDS, ", ") .. " (got '" .. tostring(field) .. "')")
    end
  end
  if opts.since == nil then return bad("since is required (Unix seconds, YYYY-MM-DD or RFC 3339)") end
  local since, till = M.time(opts.since), opts["until"] == nil and os.time() or M.time(opts["until"])
  local FORMS = "' is not a time (Unix seconds, YYYY-MM-DD or RFC 3339)"
  if not since then return bad("since: '" .. tostring(opts.since) .. FORMS) end
  if not till then return bad("until: '" .. tostring(opts["until"]) .. FORMS) end
  local step = width == "1h" and 3600 or 86400
  since = since - since % step
  if till % step ~= 0 then till = till - till % step + step end
  if till <= since then return bad("until must be after since") end
  if opts.filters ~= nil and type(opts.filters) ~= "table" then
    return bad("filters must be a table of the API's filter params")
  end

  -- the buckets of the range, empty
  local buckets = {}
  local t = since
  while t < till do
    local _, next_start = bucket_of(width, t)
    local stop = math.min(next_start, till)
    buckets[#buckets + 1] = { start = t, stop = stop, starting_at = M.iso(t), ending_at = M.iso(stop),
      exact = decimal.parse("0"), exact_parts = {} }
    t = stop
  end
  local function find_bucket(ts)
    for i = #buckets, 1, -1 do -- (rows come mostly in order; the list is short)
      if ts >= buckets[i].start then return ts < buckets[i].stop and buckets[i] or nil end
    end
  end

  -- the rows, 31 days at a time
  local group = M.BY[by]
  local fetch = metric == "cost" and admin.analytics.cost or admin.analytics.usage
  local exact_totals, actors = {}, {}
  local s0 = since
  while s0 < till do
    local e0 = math.min(till, s0 + M.WINDOW)
    local p = {}
    for k, v in pairs(opts.filters or {}) do p[k] = v end
    p.starting_at, p.ending_at = M.iso(s0), M.iso(e0)
    p.time_bucket_width = width == "1h" and "1h" or "1d"
    p.group_by = group and { group } or nil
    p.limit = 1000
    local rows, err = fetch(admin.analytics, p):all()
    if not rows then return nil, err end
    for _, r in ipairs(rows) do
      local ts = M.time(r.starting_at)
      local b = ts and find_bucket(ts)
      if not b then
        return nil, errors.new { kind = "decode", message = "series.collect: a row outside the range read ("
          .. tostring(r.starting_at) .. ")" }
      end
      local v = group and type(r.group) == "table" and r.group[group] or nil
      local k = key_of(by, v)
      if by == "actor" and type(v) == "table" then actors[k] = actors[k] or v end
      local amount
      if metric == "cost" then
        local msg
        amount, msg = decimal.parse(type(r.cost) == "table" and r.cost.amount or nil)
        if not amount then
          return nil, errors.new { kind = "decode", message = "series.collect: bad amount: " .. msg }
        end
      else
        amount = decimal.parse(usage_value(type(r.usage) == "table" and r.usage or {}, field))
      end
      b.exact_parts[k] = decimal.add(b.exact_parts[k] or "0", amount)
      b.exact = decimal.add(b.exact, amount)
      exact_totals[k] = decimal.add(exact_totals[k] or "0", amount)
    end
    s0 = e0
  end

  -- numbers in the unit, exact strings, keys by size
  local function number(d)
    if metric == "cost" then return tonumber(decimal.tostring(decimal.shift(d, 2))) end
    return tonumber(decimal.tostring(d)) -- (an integer string: an integer in Lua 5.3+)
  end
  local keys, totals, exact_strings = {}, {}, {}
  for k, d in pairs(exact_totals) do
    keys[#keys + 1] = k
    totals[k], exact_strings[k] = number(d), decimal.tostring(d)
  end
  table.sort(keys, function(a, b)
    local c = decimal.compare(exact_totals[a], exact_totals[b])
    if c ~= 0 then return c > 0 end
    return a < b
  end)
  local total = decimal.sum((function()
    local l = {}
    for _, k in ipairs(keys) do l[#l + 1] = exact_totals[k] end
    return l
  end)())
  local out = {}
  for i, b in ipairs(buckets) do
    local parts, exact_parts = {}, {}
    for k, d in pairs(b.exact_parts) do parts[k], exact_parts[k] = number(d), decimal.tostring(d) end
    out[i] = { starting_at = b.starting_at, ending_at = b.ending_at, total = number(b.exact), parts = parts,
      exact = decimal.tostring(b.exact), exact_parts = exact_parts }
  end
  local s = {
    metric = metric, width = width, by = by, field = field,
    unit = metric == "cost" and "USD"
      or ((field == "requests" or field == "web_search_requests") and "requests" or "tokens"),
    starting_at = M.iso(since), ending_at = M.iso(till),
    buckets = out, keys = keys, totals = totals, exact_totals = exact_strings,
    labels = labels_for(admin, by, keys, actors, opts.names),
    total = number(total), exact_total = decimal.tostring(total),
  }
  if metric == "cost" then s.exact_dollars = decimal.tostring(decimal.shift(total, 2), nil, 2) end
  return s
end

return M
