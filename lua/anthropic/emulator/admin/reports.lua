-- Reports computed from the usage the emulator recorded (served Messages traffic, injected
-- history, seed records):
--   GET /v1/organizations/usage_report/messages
--   GET /v1/organizations/cost_report
--   GET /v1/organizations/usage_report/claude_code
-- Buckets are aligned to UTC minutes, hours or days, come oldest first, and include empty ones.
-- `limit` counts buckets; pages continue with the opaque next_page token.
local common = require "anthropic.emulator.admin.common"
local json = require "anthropic.emulator.json"
local prices = require "anthropic.prices"

local M = {}

M.WIDTHS = { ["1m"] = 60, ["1h"] = 3600, ["1d"] = 86400 }
M.WIDTH_NAMES = { "1m", "1h", "1d" }
M.LIMITS = { ["1m"] = { 60, 1440 }, ["1h"] = { 24, 168 }, ["1d"] = { 7, 31 } }

M.GROUP_BY = { "api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo",
               "speed", "account_id", "service_account_id" }
M.SERVICE_TIERS = { "standard", "batch", "priority", "priority_on_demand", "flex", "flex_discount" }
M.CONTEXT_WINDOWS = { "0-200k", "200k-1M" }
M.INFERENCE_GEOS = { "global", "us", "not_available" }
M.SPEEDS = { "standard", "fast" }
M.FAST_BETA = "fast-mode-2026-02-01"

-- Filters: query name, record field, allowed values (nil: any).
M.FILTERS = {
  { "api_key_ids", "api_key_id" }, { "workspace_ids", "workspace_id" }, { "models", "model" },
  { "service_tiers", "service_tier", M.SERVICE_TIERS }, { "context_window", "context_window", M.CONTEXT_WINDOWS },
  { "inference_geos", "inference_geo", M.INFERENCE_GEOS }, { "speeds", "speed", M.SPEEDS },
  { "account_ids", "account_id" }, { "service_account_ids", "service_account_id" },
}

local function has_beta(req, name)
  for b in (req.headers["anthropic-beta"] or ""):gmatch("[^,%s]+") do
    if b == name then return true end
  end
  return false
end

local function field_of(u, name)
  if name == "speed" then return u.speed or "standard" end
  return u[name]
end

-- starting_at, ending_at, bucket_width and limit. -> { start, stop, width, limit, count } | nil, 400
local function range(emu, req, widths, default_width, limits)
  local params = req.params
  local s, err = common.param(params, "starting_at")
  if s == false then return nil, err end
  if s == nil then return nil, common.bad("starting_at: Field required") end
  local starting = common.parse_time(s)
  if not starting then return nil, common.bad("starting_at: Input should be a valid RFC 3339 datetime") end
  local e
  e, err = common.param(params, "ending_at")
  if e == false then return nil, err end
  local ending
  if e ~= nil then
    ending = common.parse_time(e)
    if not ending then return nil, common.bad("ending_at: Input should be a valid RFC 3339 datetime") end
    if ending <= starting then return nil, common.bad("ending_at: must be after starting_at") end
  end
  local wname
  wname, err = common.param(params, "bucket_width")
  if wname == false then return nil, err end
  wname = wname or default_width
  err = common.check_enum("bucket_width", wname, widths)
  if err then return nil, err end
  local width = M.WIDTHS[wname]
  local lim = limits[wname]
  local limit
  limit, err = common.limit_param(params, lim[1], lim[2])
  if not limit then return nil, err end
  local start = math.floor(starting / width) * width
  local stop = ending or (math.floor(emu:now() / width) + 1) * width
  local count = math.max(0, math.ceil((stop - start) / width))
  return { start = start, stop = stop, width = width, limit = limit, count = count }
end

-- The buckets of this page: { first, last } indexes (1-based), or an error.
local function page_of(req, r)
  local first, err = common.read_token(req, 1)
  if not first then return nil, err end
  if first < 1 then return nil, common.bad("page: invalid page token") end
  return { first = first, last = math.min(r.count, first + r.limit - 1) }
end

-- group_by[] values. -> list | nil, 400
local function group_by(req, allowed)
  local list = common.list_param(req.params, "group_by") or {}
  local seen = {}
  local out = {}
  for _, g in ipairs(list) do
    local err = common.check_enum("group_by", g, allowed)
    if err then return nil, err end
    if g == "speed" and not has_beta(req, M.FAST_BETA) then
      return nil, common.bad("group_by: 'speed' requires the anthropic-beta header " .. M.FAST_BETA)
    end
    if not seen[g] then
      seen[g] = true
      out[#out + 1] = g
    end
  end
  return out
end

-- The records in the page's time range that pass the filters, each with its bucket index.
-- -> list of { u, bucket } | nil, 400
local function select(emu, req, r, pg, filters)
  local sets = {}
  for _, f in ipairs(filters or {}) do
    local values = common.list_param(req.params, f[1])
    if values then
      local s = {}
      for _, v in ipairs(values) do
        if f[3] then
          local err = common.check_enum(f[1], v, f[3])
          if err then return nil, err end
        end
        if f[1] == "speeds" and not has_beta(req, M.FAST_BETA) then
          return nil, common.bad("speeds: requires the anthropic-beta header " .. M.FAST_BETA)
        end
        s[v] = true
        if f[2] == "model" then
          local m = emu.models:find(v)
          if m then s[m.id] = true end
        end
      end
      sets[#sets + 1] = { field = f[2], values = s }
    end
  end
  local from = r.start + (pg.first - 1) * r.width
  local to = math.min(r.stop, r.start + pg.last * r.width)
  local out = {}
  for _, u in ipairs(emu.org.d.usage) do
    if u.time >= from and u.time < to then
      local keep = true
      for _, s in ipairs(sets) do
        local v = field_of(u, s.field)
        if v == nil or not s.values[v] then
          keep = false
          break
        end
      end
      if keep then out[#out + 1] = { u = u, bucket = math.floor((u.time - r.start) / r.width) + 1 } end
    end
  end
  return out
end

local function bucket_times(r, i)
  local s = r.start + (i - 1) * r.width
  return common.rfc3339(s), common.rfc3339(math.min(s + r.width, r.stop))
end

local function envelope(req, r, pg, data)
  local more = pg.last < r.count
  return common.ok { data = data, has_more = more,
                     next_page = more and common.make_token(req, pg.last + 1) or json.null }
end

---------------------------------------------------------------------------------------------------
-- Messages usage report

local function usage_result(dims, u)
  local res = {
    uncached_input_tokens = 0, cache_read_input_tokens = 0, output_tokens = 0,
    cache_creation = { ephemeral_5m_input_tokens = 0, ephemeral_1h_input_tokens = 0 },
    server_tool_use = { web_search_requests = 0 },
  }
  for _, d in ipairs(M.GROUP_BY) do
    if d ~= "speed" then res[d] = json.null end
  end
  for _, d in ipairs(dims) do res[d] = common.opt(field_of(u, d)) end
  return res
end

local function add_usage(res, u)
  res.uncached_input_tokens = res.uncached_input_tokens + u.input_tokens
  res.cache_read_input_tokens = res.cache_read_input_tokens + u.cache_read_input_tokens
  res.output_tokens = res.output_tokens + u.output_tokens
  local cc = res.cache_creation
  cc.ephemeral_5m_input_tokens = cc.ephemeral_5m_input_tokens + u.cache_creation_5m_input_tokens
  cc.ephemeral_1h_input_tokens = cc.ephemeral_1h_input_tokens + u.cache_creation_1h_input_tokens
  res.server_tool_use.web_search_requests = res.server_tool_use.web_search_requests + u.web_search_requests
end

local function key_of(dims, u)
  local parts = {}
  for i, d in ipairs(dims) do parts[i] = tostring(field_of(u, d) or "\0") end
  return table.concat(parts, "\1")
end

function M.messages(emu, req)
  local r, err = range(emu, req, M.WIDTH_NAMES, "1d", M.LIMITS)
  if not r then return err end
  local dims
  dims, err = group_by(req, M.GROUP_BY)
  if not dims then return err end
  local pg
  pg, err = page_of(req, r)
  if not pg then return err end
  local rows
  rows, err = select(emu, req, r, pg, M.FILTERS)
  if not rows then return err end
  local buckets = {}
  for _, row in ipairs(rows) do
    local b = buckets[row.bucket]
    if not b then
      b = { by_key = {}, keys = {} }
      buckets[row.bucket] = b
    end
    local k = key_of(dims, row.u)
    local res = b.by_key[k]
    if not res then
      res = usage_result(dims, row.u)
      b.by_key[k] = res
      b.keys[#b.keys + 1] = k
    end
    add_usage(res, row.u)
  end
  local data = json.array()
  for i = pg.first, pg.last do
    local s, e = bucket_times(r, i)
    local results = json.array()
    local b = buckets[i]
    if b then
      table.sort(b.keys)
      for _, k in ipairs(b.keys) do results[#results + 1] = b.by_key[k] end
    end
    data[#data + 1] = { starting_at = s, ending_at = e, results = results }
  end
  return envelope(req, r, pg, data)
end

---------------------------------------------------------------------------------------------------
-- Cost report

M.COST_GROUP_BY = { "workspace_id", "description" }

local function description(emu, model, words)
  local m = emu.models:find(model)
  return (m and m.display_name or model) .. " Usage - " .. words
end

function M.cost(emu, req)
  local r, err = range(emu, req, { "1d" }, "1d", { ["1d"] = M.LIMITS["1d"] })
  if not r then return err end
  local dims
  dims, err = group_by(req, M.COST_GROUP_BY)
  if not dims then return err end
  local by_ws, by_desc = false, false
  for _, d in ipairs(dims) do
    if d == "workspace_id" then by_ws = true else by_desc = true end
  end
  local pg
  pg, err = page_of(req, r)
  if not pg then return err end
  local rows
  rows, err = select(emu, req, r, pg, nil)
  if not rows then return err end
  -- bucket -> line key -> { fields, tokens (or searches), price }
  local buckets = {}
  for _, row in ipairs(rows) do
    local u = row.u
    local b = buckets[row.bucket]
    if not b then
      b = {}
      buckets[row.bucket] = b
    end
    local function add(kind, tt, n, price)
      if n <= 0 or not price then return end
      local k = table.concat({ tostring(u.workspace_id or ""), kind, u.model, tt, u.service_tier,
                               u.context_window, u.inference_geo, price }, "\1") -- (a long prompt's price differs)
      local line = b[k]
      if not line then
        line = { workspace_id = u.workspace_id, kind = kind, model = u.model, token_type = tt,
                 service_tier = u.service_tier, context_window = u.context_window,
                 inference_geo = u.inference_geo, n = 0, price = price }
        b[k] = line
      end
      line.n = line.n + n
    end
    local prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_5m_input_tokens
      + u.cache_creation_1h_input_tokens
    for _, t in ipairs(prices.TOKEN_TYPES) do
      add("tokens", t.name, u[t.field], prices.price(u.model, t.column, u.service_tier, u.inference_geo, prompt))
    end
    add("web_search", "", u.web_search_requests, prices.WEB_SEARCH_UNITS)
  end
  local words = {}
  for _, t in ipairs(prices.TOKEN_TYPES) do words[t.name] = t.words end
  local data = json.array()
  for i = pg.first, pg.last do
    local s, e = bucket_times(r, i)
    -- result key -> { row, units }
    local results, order = {}, {}
    for _, line in pairs(buckets[i] or {}) do
      local units = prices.cost(line.n, line.price)
      local row = {
        currency = "USD", workspace_id = by_ws and common.opt(line.workspace_id) or json.null,
        description = json.null, cost_type = json.null, model = json.null, service_tier = json.null,
        token_type = json.null, context_window = json.null, inference_geo = json.null,
      }
      if by_desc then
        row.cost_type = line.kind
        if line.kind == "web_search" then
          row.description = "Web Search Usage"
        else
          row.description = description(emu, line.model, words[line.token_type])
          row.model, row.token_type = line.model, line.token_type
          row.service_tier, row.context_window, row.inference_geo = line.service_tier, line.context_window,
            line.inference_geo
        end
      end
      local k = table.concat({ tostring(row.workspace_id), tostring(row.description), tostring(row.model),
                               tostring(row.token_type), tostring(row.service_tier), tostring(row.context_window),
                               tostring(row.inference_geo) }, "\1")
      local acc = results[k]
      if not acc then
        acc = { row = row, units = prices.big(0) }
        results[k] = acc
        order[#order + 1] = k
      end
      acc.units = prices.add(acc.units, units)
    end
    table.sort(order)
    local list = json.array()
    for _, k in ipairs(order) do
      local acc = results[k]
      acc.row.amount = prices.cents(acc.units)
      list[#list + 1] = acc.row
    end
    data[#data + 1] = { starting_at = s, ending_at = e, results = list }
  end
  return envelope(req, r, pg, data)
end

---------------------------------------------------------------------------------------------------
-- Claude Code usage report: records for one UTC day, from the seed or POST /_emulator/claude_code.

local function deep(v)
  if type(v) ~= "table" or v == json.null then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = deep(x) end
  return setmetatable(c, getmetatable(v))
end

function M.claude_code_json(emu, rec)
  local out = deep(rec.data)
  out.date = common.rfc3339(rec.day)
  out.organization_id = emu.org.d.org.id
  return out
end

-- Checks a Claude Code record (seed or control body) and fills defaults. -> record | nil, message
function M.claude_code_record(rec, now, at)
  if type(rec) ~= "table" then return nil, at .. ": must be an object" end
  local day, err = common.seed_time(rec.date, now, at .. ".date")
  if not day then return nil, err end
  local data = deep(rec)
  data.date = nil
  if data.actor == nil then
    if rec.email_address then
      data.actor = { type = "user_actor", email_address = rec.email_address }
    elseif rec.api_key_name then
      data.actor = { type = "api_actor", api_key_name = rec.api_key_name }
    else
      return nil, at .. ".actor: {type = \"user_actor\", email_address} or "
        .. "{type = \"api_actor\", api_key_name} required"
    end
  end
  data.email_address, data.api_key_name = nil, nil
  data.customer_type = data.customer_type or "api"
  if data.subscription_type == nil then data.subscription_type = json.null end
  data.terminal_type = data.terminal_type or "vscode"
  local cm = data.core_metrics or {}
  cm.num_sessions = cm.num_sessions or 0
  cm.lines_of_code = cm.lines_of_code or { added = 0, removed = 0 }
  cm.commits_by_claude_code = cm.commits_by_claude_code or 0
  cm.pull_requests_by_claude_code = cm.pull_requests_by_claude_code or 0
  data.core_metrics = cm
  data.tool_actions = data.tool_actions or {}
  data.model_breakdown = json.array(data.model_breakdown or {})
  return { day = math.floor(day / 86400) * 86400, data = data }
end

function M.claude_code(emu, req)
  local s, err = common.param(req.params, "starting_at")
  if s == false then return err end
  if s == nil then return common.bad("starting_at: Field required") end
  local day = common.parse_date(s)
  if not day then return common.bad("starting_at: Input should be a date in YYYY-MM-DD format") end
  local limit
  limit, err = common.limit_param(req.params, 20, 1000)
  if not limit then return err end
  local items = {}
  for _, rec in ipairs(emu.org.d.claude_code) do
    if rec.day == day then items[#items + 1] = rec end
  end
  local page
  page, err = common.token_page(req, items, limit, function(rec) return M.claude_code_json(emu, rec) end)
  if not page then return err end
  return common.ok(page)
end

function M.register(emu)
  emu:route("GET", "^/v1/organizations/usage_report/messages$", M.messages, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/cost_report$", M.cost, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/usage_report/claude_code$", M.claude_code, { auth = "admin" })
end

return M
