-- The Usage and Cost Analytics API (beta analytics-usage-cost-2026-08-24), from the same recorded
-- usage as the legacy reports (admin/reports.lua), so the sums agree with them exactly:
--   GET /v1/organizations/analytics/usage   token and request counts
--   GET /v1/organizations/analytics/cost    USD, in fractional cents
-- One row per combination of the group_by[] dimensions (and time bucket, with time_bucket_width)
-- that has usage, ranked by order_by; pages continue with next_page. Dimensions the emulator does
-- not record (agents, sessions, Claude Tag, Slack, RBAC groups, user profiles, child organizations)
-- read null; filtering on them matches nothing.
local common = require "anthropic.emulator.admin.common"
local json = require "anthropic.emulator.json"
local prices = require "anthropic.prices"
local reports = require "anthropic.emulator.admin.reports"

local M = {}

M.BETA = "analytics-usage-cost-2026-08-24"
M.EARLIEST = 1767225600 -- 2026-01-01T00:00:00Z
M.MAX_RANGE = 31 * 86400
M.MAX_GROUP_BY = 5

M.USAGE_GROUP_BY = { "actor", "actor_type", "agent_id", "api_key_id", "claude_tag_category", "claude_tag_user_id",
  "context_window", "deployment_id", "environment_id", "inference_geo", "model", "organization_id", "product",
  "rbac_group_id", "service_tier", "session_id", "slack_channel_id", "speed", "user_profile_id", "workspace_id" }
M.FANOUT = { cost_type = true, token_type = true }
M.COST_GROUP_BY = { "cost_type", "token_type" }
for _, g in ipairs(M.USAGE_GROUP_BY) do M.COST_GROUP_BY[#M.COST_GROUP_BY + 1] = g end

M.ACTOR_TYPES = { "api_actor", "federated_actor", "service_account_actor", "user_actor" }
M.CLAUDE_TAG_CATEGORIES = { "dm", "engaged", "monitoring", "proactive", "scheduled" }
M.PRODUCTS = { "chat", "chat_cowork_unified", "claude_code", "claude_console", "claude_design", "claude_in_chrome",
  "claude_tag", "cowork", "managed_agents_api", "message_batches_api", "messages_api", "office_agent" }
M.INFERENCE_GEOS = { "global", "not_available", "us" }
M.WIDTHS = { ["1d"] = 86400, ["1h"] = 3600, ["1m"] = 60 }
M.USAGE_ORDER_BY = { "output_tokens", "requests", "time", "total_tokens", "uncached_input_tokens" }
M.COST_ORDER_BY = { "amount", "list_amount", "time" }

-- The product surface of a recorded request: the emulator serves the Messages API and batches.
local function product(u)
  return u.service_tier == "batch" and "message_batches_api" or "messages_api"
end

-- The identity the usage is attributed to: the user, else the service account, else the key.
local function actor_of(emu, u)
  if u.account_id then
    local user = emu.org:user(u.account_id)
    return { type = "user_actor", user_id = u.account_id, deleted = user == nil,
             email_address = user and user.email or json.null, name = user and user.name or json.null }
  elseif u.service_account_id then
    return { type = "service_account_actor", service_account_id = u.service_account_id }
  elseif u.api_key_id then
    return { type = "api_actor", api_key_id = u.api_key_id }
  end
end

local function actor_id(a)
  return a and (a.user_id or a.service_account_id or a.api_key_id)
end

-- A dimension's value for a record (nil: none, JSON null).
local function dim(emu, u, name)
  if name == "actor" then return actor_of(emu, u) end
  if name == "actor_type" then
    local a = actor_of(emu, u)
    return a and a.type
  end
  if name == "product" then return product(u) end
  if name == "speed" then return u.speed or "standard" end
  if name == "api_key_id" or name == "workspace_id" or name == "model" or name == "service_tier"
    or name == "context_window" or name == "inference_geo" then
    return u[name]
  end
  return nil -- dimensions the emulator does not record
end

-- Filters: query name, dimension, allowed values (nil: any).
M.FILTERS = {
  { "actor_types", "actor_type", M.ACTOR_TYPES }, { "agent_ids", "agent_id" }, { "api_key_ids", "api_key_id" },
  { "claude_tag_categories", "claude_tag_category", M.CLAUDE_TAG_CATEGORIES },
  { "claude_tag_user_ids", "claude_tag_user_id" }, { "context_windows", "context_window", reports.CONTEXT_WINDOWS },
  { "deployment_ids", "deployment_id" }, { "environment_ids", "environment_id" },
  { "inference_geos", "inference_geo", M.INFERENCE_GEOS }, { "models", "model" },
  { "organization_ids", "organization_id" }, { "products", "product", M.PRODUCTS },
  { "rbac_group_ids", "rbac_group_id" }, { "service_tiers", "service_tier", reports.SERVICE_TIERS },
  { "session_ids", "session_id" }, { "slack_channel_ids", "slack_channel_id" },
  { "speeds", "speed", reports.SPEEDS }, { "user_profile_ids", "user_profile_id" },
  { "workspace_ids", "workspace_id" },
}

local function has_beta(req)
  for b in (req.headers["anthropic-beta"] or ""):gmatch("[^,%s]+") do
    if b == M.BETA then return true end
  end
  return false
end

local function time_param(params, name)
  local v, err = common.param(params, name)
  if v == false then return nil, err end
  if v == nil then return false end
  local t = common.parse_time(v)
  if not t then return nil, common.bad(name .. ": Input should be a valid RFC 3339 datetime") end
  return t
end

-- The query: range, bucket width, group_by, filters, order, limit. -> q | nil, 400
local function read_query(emu, req, cost)
  local p = req.params
  local q = {}
  local start, err = time_param(p, "starting_at")
  if start == nil then return nil, err end
  if start == false then return nil, common.bad("starting_at: Field required") end
  local now = emu:now()
  if start < M.EARLIEST then return nil, common.bad("starting_at: must be no earlier than 2026-01-01T00:00:00Z") end
  if start < now - 365 * 86400 then return nil, common.bad("starting_at: must be within the last 365 days") end
  local stop
  stop, err = time_param(p, "ending_at")
  if stop == nil then return nil, err end
  local wname
  wname, err = common.param(p, "time_bucket_width")
  if wname == false then return nil, err end
  if wname then
    err = common.check_enum("time_bucket_width", wname, { "1d", "1h", "1m" })
    if err then return nil, err end
    if not stop then return nil, common.bad("ending_at: Field required when time_bucket_width is set") end
    q.width = M.WIDTHS[wname]
  end
  if stop and stop <= start then return nil, common.bad("ending_at: must be after starting_at") end
  if stop and stop - start > M.MAX_RANGE then
    return nil, common.bad("ending_at: the range may span at most 31 days")
  end
  if wname == "1m" and stop - start > 86400 then
    return nil, common.bad("ending_at: with time_bucket_width 1m the range may span at most 24 hours")
  end
  if q.width then
    q.start, q.stop = math.floor(start / q.width) * q.width, stop
  else -- the whole range, in whole hours
    q.start = math.floor(start / 3600) * 3600
    q.stop = math.floor((stop or math.min(now, start + M.MAX_RANGE)) / 3600) * 3600
  end
  -- group_by
  local allowed = cost and M.COST_GROUP_BY or M.USAGE_GROUP_BY
  q.dims, q.fanout = {}, {}
  local seen, counted = {}, 0
  for _, g in ipairs(common.list_param(p, "group_by") or {}) do
    err = common.check_enum("group_by", g, allowed)
    if err then return nil, err end
    if not seen[g] then
      seen[g] = true
      if cost and M.FANOUT[g] then
        q.fanout[g] = true
      else
        q.dims[#q.dims + 1] = g
        counted = counted + 1
      end
    end
  end
  if counted > M.MAX_GROUP_BY then
    return nil, common.bad("group_by: at most " .. M.MAX_GROUP_BY .. " dimensions"
      .. (cost and " (not counting cost_type and token_type)" or ""))
  end
  -- filters
  q.filters = {}
  for _, f in ipairs(M.FILTERS) do
    local values = common.list_param(p, f[1])
    if values then
      local set = {}
      for _, v in ipairs(values) do
        if f[3] and not (f[1] == "api_key_ids" and v == "") then
          err = common.check_enum(f[1], v, f[3])
          if err then return nil, err end
        end
        set[v] = true
        if f[2] == "model" then
          local m = emu.models:find(v)
          if m then set[m.id] = true end
        end
      end
      q.filters[#q.filters + 1] = { dim = f[2], values = set }
    end
  end
  local actor_ids = common.list_param(p, "actor_ids")
  if actor_ids then q.actor_ids = common.set(actor_ids) end
  local excl
  excl, err = common.bool_param(p, "exclude_deleted_users")
  if excl == nil then return nil, err end
  if excl and not seen.actor then return nil, common.bad("exclude_deleted_users: requires group_by[]=actor") end
  q.exclude_deleted = excl
  -- order
  local order
  order, err = common.param(p, "order")
  if order == false then return nil, err end
  order = order or "desc"
  err = common.check_enum("order", order, { "asc", "desc" })
  if err then return nil, err end
  q.order = order
  local order_by
  order_by, err = common.param(p, "order_by")
  if order_by == false then return nil, err end
  order_by = order_by or (cost and "amount" or "total_tokens")
  err = common.check_enum("order_by", order_by, cost and M.COST_ORDER_BY or M.USAGE_ORDER_BY)
  if err then return nil, err end
  q.order_by = order_by
  q.limit, err = common.limit_param(p, 20, 1000)
  if not q.limit then return nil, err end
  return q
end

local function keep(emu, q, u)
  if u.time < q.start or u.time >= q.stop then return false end
  for _, f in ipairs(q.filters) do
    local v = dim(emu, u, f.dim)
    if f.dim == "api_key_id" and v == nil then v = "" end -- api_key_ids[]= : usage without a key
    if f.dim == "inference_geo" and v == nil then v = "not_available" end
    if v == nil or not f.values[v] then return false end
  end
  if q.actor_ids and not q.actor_ids[actor_id(actor_of(emu, u)) or false] then return false end
  return true
end

local function key_part(v)
  if v == nil then return "\0" end
  if type(v) == "table" then return v.type .. ":" .. tostring(actor_id(v)) end
  return tostring(v)
end

-- The rows: records in range passing the filters, grouped by (bucket, dims). `add(acc, u)` sums.
-- -> list of { bucket = start time, group = {dim -> value}, acc }
local function rows_of(emu, q, new_acc, add)
  local by_key, list = {}, {}
  for _, u in ipairs(emu.org.d.usage) do
    if keep(emu, q, u) then
      local bucket = q.width and (q.start + math.floor((u.time - q.start) / q.width) * q.width) or q.start
      local parts = { string.format("%d", bucket) }
      local values = {}
      for i, d in ipairs(q.dims) do
        values[d] = dim(emu, u, d)
        parts[i + 1] = key_part(values[d])
      end
      local k = table.concat(parts, "\1")
      local row = by_key[k]
      if not row then
        row = { bucket = bucket, values = values, key = k, acc = new_acc() }
        by_key[k] = row
        list[#list + 1] = row
      end
      add(row.acc, u)
    end
  end
  if q.exclude_deleted then
    local kept = {}
    for _, r in ipairs(list) do
      local a = r.values.actor
      if not (a and a.type == "user_actor" and a.deleted) then kept[#kept + 1] = r end
    end
    list = kept
  end
  return list
end

-- Sorts rows by the metric (a number or a bignum via `cmp`), or by time then metric.
local function sort_rows(q, list, metric, cmp)
  local desc = q.order == "desc"
  table.sort(list, function(a, b)
    if q.order_by == "time" and q.width and a.bucket ~= b.bucket then
      if desc then return a.bucket > b.bucket end
      return a.bucket < b.bucket
    end
    local c = cmp(metric(a), metric(b))
    if c ~= 0 then
      if q.order_by == "time" or desc then return c > 0 end -- within a bucket: highest first
      return c < 0
    end
    if a.bucket ~= b.bucket then return a.bucket < b.bucket end
    return a.key < b.key
  end)
end

local function group_json(q, all, values, extra)
  local g = {}
  for _, d in ipairs(all) do g[d] = json.null end
  for _, d in ipairs(q.dims) do
    if values[d] ~= nil then g[d] = values[d] end
  end
  for k, v in pairs(extra or {}) do g[k] = v end
  return g
end

local function times(q, row)
  local s = row.bucket
  local e = q.width and math.min(s + q.width, q.stop) or q.stop
  return common.rfc3339(s), common.rfc3339(e)
end

-- One page of rows; each row may expand to several items (cost fan-out). -> response
local function page(req, q, list, items_of)
  local first, err = common.read_token(req, 1)
  if not first then return err end
  if first < 1 then return common.bad("page: invalid page token") end
  local last = math.min(#list, first + q.limit - 1)
  local data = json.array()
  for i = first, last do
    for _, item in ipairs(items_of(list[i])) do data[#data + 1] = item end
  end
  local more = last < #list
  return common.ok { data = data, has_more = more, next_page = more and common.make_token(req, last + 1) or json.null,
                     data_refreshed_at = common.rfc3339(math.floor(req.emu_now)) }
end

local function num_cmp(a, b)
  if a == b then return 0 end
  return a < b and -1 or 1
end

local function check(emu, req, cost)
  if not has_beta(req) then
    return nil, common.bad("This endpoint is in beta: send the anthropic-beta header " .. M.BETA)
  end
  req.emu_now = emu:now()
  return read_query(emu, req, cost)
end

---------------------------------------------------------------------------------------------------
-- Usage

local function new_usage()
  return { uncached_input_tokens = 0, cache_read_input_tokens = 0, output_tokens = 0, requests = 0,
           cache_5m = 0, cache_1h = 0, web_search_requests = 0 }
end

local function add_usage(a, u)
  a.uncached_input_tokens = a.uncached_input_tokens + u.input_tokens
  a.cache_read_input_tokens = a.cache_read_input_tokens + u.cache_read_input_tokens
  a.output_tokens = a.output_tokens + u.output_tokens
  a.cache_5m = a.cache_5m + u.cache_creation_5m_input_tokens
  a.cache_1h = a.cache_1h + u.cache_creation_1h_input_tokens
  a.web_search_requests = a.web_search_requests + u.web_search_requests
  a.requests = a.requests + (u.requests or 1) -- (a usage bucket counts its requests)
end

local function total_tokens(a)
  return a.uncached_input_tokens + a.cache_read_input_tokens + a.cache_5m + a.cache_1h + a.output_tokens
end

function M.usage(emu, req)
  local q, err = check(emu, req, false)
  if not q then return err end
  local list = rows_of(emu, q, new_usage, add_usage)
  local by = q.order_by == "time" and "total_tokens" or q.order_by
  sort_rows(q, list, function(r)
    return by == "total_tokens" and total_tokens(r.acc) or r.acc[by]
  end, num_cmp)
  return page(req, q, list, function(r)
    local s, e = times(q, r)
    local a = r.acc
    return { {
      starting_at = s, ending_at = e, group = group_json(q, M.USAGE_GROUP_BY, r.values),
      usage = { uncached_input_tokens = a.uncached_input_tokens, cache_read_input_tokens = a.cache_read_input_tokens,
                output_tokens = a.output_tokens, requests = a.requests, total_tokens = total_tokens(a),
                cache_creation = { ephemeral_5m_input_tokens = a.cache_5m, ephemeral_1h_input_tokens = a.cache_1h },
                server_tool_use = { web_search_requests = a.web_search_requests } },
    } }
  end)
end

---------------------------------------------------------------------------------------------------
-- Cost: each record's cost lines are priced as the legacy cost report prices them
-- (reports.cost_lines), in exact units of 10^-10 cent.

local function new_cost()
  return { total = prices.big(0), parts = {}, order = {}, requests = 0 }
end

local function add_cost(a, u)
  a.requests = a.requests + (u.requests or 1)
  reports.cost_lines(u, function(kind, token_type, units)
    local k = kind .. "\1" .. token_type
    local part = a.parts[k]
    if not part then
      part = { kind = kind, token_type = token_type, units = prices.big(0) }
      a.parts[k] = part
      a.order[#a.order + 1] = k
    end
    part.units = prices.add(part.units, units)
    a.total = prices.add(a.total, units)
  end)
end

local function big_cmp(a, b)
  local x, y = prices.digits(a), prices.digits(b)
  if #x ~= #y then return #x < #y and -1 or 1 end
  if x == y then return 0 end
  return x < y and -1 or 1
end

local function cost_item(s, e, group, units, requests)
  local amount = prices.cents(units)
  return { starting_at = s, ending_at = e, group = group,
           cost = { amount = amount, list_amount = amount, currency = "USD", requests = requests } }
end

-- The fan-out of one row: cost_type (tokens, web_search), token_type (per token type, and the
-- other cost types), or both.
local function cost_items(q, r)
  local s, e = times(q, r)
  if not (q.fanout.cost_type or q.fanout.token_type) then
    return { cost_item(s, e, group_json(q, M.COST_GROUP_BY, r.values), r.acc.total, r.acc.requests) }
  end
  local merged, order = {}, {}
  for _, k in ipairs(r.acc.order) do
    local part = r.acc.parts[k]
    local tt = part.kind == "tokens" and q.fanout.token_type and part.token_type or nil
    local mk = part.kind .. "\1" .. tostring(tt)
    if not merged[mk] then
      merged[mk] = { kind = part.kind, token_type = tt, units = prices.big(0) }
      order[#order + 1] = mk
    end
    merged[mk].units = prices.add(merged[mk].units, part.units)
  end
  table.sort(order, function(x, y) return big_cmp(merged[x].units, merged[y].units) > 0 or
    (big_cmp(merged[x].units, merged[y].units) == 0 and x < y) end)
  local out = {}
  for _, mk in ipairs(order) do
    local m = merged[mk]
    out[#out + 1] = cost_item(s, e, group_json(q, M.COST_GROUP_BY, r.values,
      { cost_type = m.kind, token_type = m.token_type or json.null }), m.units, json.null)
  end
  return out
end

function M.cost(emu, req)
  local q, err = check(emu, req, true)
  if not q then return err end
  local list = {}
  for _, r in ipairs(rows_of(emu, q, new_cost, add_cost)) do -- rows with cost only
    if not prices.is_zero(r.acc.total) then list[#list + 1] = r end
  end
  sort_rows(q, list, function(r) return r.acc.total end, big_cmp)
  return page(req, q, list, function(r) return cost_items(q, r) end)
end

function M.register(emu)
  emu:route("GET", "^/v1/organizations/analytics/usage$", M.usage, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/analytics/cost$", M.cost, { auth = "admin" })
end

return M
