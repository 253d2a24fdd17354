-- What `anthropic usage` and `anthropic cost` share when they read the Usage and Cost Analytics
-- API (admin.analytics:usage / :cost): --since/--until (dates, RFC 3339, 7d, this-month, ...),
-- --by dimensions, filters, ranges longer than the API's 31 days read in windows and summed, and
-- the output as a table with a TOTAL row, --json or --csv.
local decimal = require "anthropic.decimal"
local reports = require "anthropic.reports"
local json = require "anthropic.json"
local series = require "anthropic.series"

local M = {}

M.WINDOW = 31 * 86400 -- the longest range one request may span

-- --by name -> the API's group_by dimension
M.DIMENSIONS = { model = "model", workspace = "workspace_id", api_key = "api_key_id", actor = "actor",
  actor_type = "actor_type", service_tier = "service_tier", context_window = "context_window",
  inference_geo = "inference_geo", speed = "speed", product = "product", user_profile = "user_profile_id" }
M.COST_DIMENSIONS = { cost_type = "cost_type", token_type = "token_type" }
-- --by name -> time_bucket_width
M.TIME = { day = "1d", hour = "1h", minute = "1m" }
M.ORDER = { "model", "workspace", "api_key", "actor", "actor_type", "service_tier", "context_window",
  "inference_geo", "speed", "product", "user_profile" }

M.FLAGS = { since = "string", ["until"] = "string", from = "string", to = "string", by = "list", model = "list",
  workspace = "list", ["key-id"] = "list", ["service-tier"] = "list", actor = "list", csv = "boolean",
  legacy = "boolean", bucket = "string" }

local utc = series.utc -- (days from the civil date: one implementation, in series.lua)

--- A --since/--until value -> Unix seconds (UTC). Takes YYYY-MM-DD, an RFC 3339 time (Z or an
-- offset), now, today, yesterday, this-month, last-month, and Nd / Nh / Nm ago (7d, 12h, 30m).
-- `flag` names it in the error. -> seconds (raises a usage message)
function M.parse_time(value, flag, now)
  now = now or os.time()
  local v = value:lower()
  local n, unit = v:match("^(%d+)([dhm])$")
  if n then return now - tonumber(n) * ({ d = 86400, h = 3600, m = 60 })[unit] end
  local today = now - now % 86400
  if v == "now" then return now end
  if v == "today" then return today end
  if v == "yesterday" then return today - 86400 end
  local y, mo = tonumber(os.date("!%Y", now)), tonumber(os.date("!%m", now))
  if v == "this-month" then return utc(y, mo, 1) end
  if v == "last-month" then return mo == 1 and utc(y - 1, 12, 1) or utc(y, mo - 1, 1) end
  local Y, M_, D = value:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if Y then return utc(tonumber(Y), tonumber(M_), tonumber(D)) end
  local h, mi, s, rest
  Y, M_, D, h, mi, s, rest = value:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if Y then
    rest = rest:gsub("^%.%d+", "")
    local t = utc(tonumber(Y), tonumber(M_), tonumber(D), tonumber(h), tonumber(mi), tonumber(s))
    if rest == "Z" or rest == "z" then return t end
    local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
    if sign then return t - (sign == "+" and 1 or -1) * (tonumber(oh) * 3600 + tonumber(om) * 60) end
  end
  error(string.format("--%s: '%s' is not a time; use YYYY-MM-DD, an RFC 3339 time, 7d, 12h, today, "
    .. "yesterday, this-month or last-month", flag, value), 0)
end

local iso = series.iso

--- The dimensions and time bucket of --by. -> { names }, { group_by }, width | raises
function M.by(list, cost)
  local names, group_by, width = {}, {}, nil
  for _, b in ipairs(list or {}) do
    local d = M.DIMENSIONS[b] or (cost and M.COST_DIMENSIONS[b])
    if M.TIME[b] then
      if width then error("--by takes one of day, hour, minute", 0) end
      width = M.TIME[b]
    elseif d then
      names[#names + 1] = b
      group_by[#group_by + 1] = d
    else
      local all = { table.unpack(M.ORDER) }
      if cost then all[#all + 1] = "cost_type"; all[#all + 1] = "token_type" end
      all[#all + 1] = "day"; all[#all + 1] = "hour"
      error("--by takes " .. table.concat(all, ", ") .. " (comma-separated; got '" .. b .. "')", 0)
    end
  end
  return names, group_by, width
end

--- The params shared by both commands, the range as Unix seconds. -> params, since, until
function M.params(opts, group_by, width)
  local now = os.time()
  local since = M.parse_time(opts.since or opts.from or "7d", opts.since and "since" or "from", now)
  local till = opts["until"] or opts.to
  till = till and M.parse_time(till, opts["until"] and "until" or "to", now) or now
  local step = width and ({ ["1d"] = 86400, ["1h"] = 3600, ["1m"] = 60 })[width] or 3600
  since = since - since % step -- (the API rounds down; the range shown is the one read)
  if till % step ~= 0 then till = till - till % step + step end
  if till <= since then error("--until must be after --since", 0) end
  return { group_by = group_by[1] and group_by or nil, time_bucket_width = width, models = opts.model,
    workspace_ids = opts.workspace, api_key_ids = opts.key_id, service_tiers = opts.service_tier,
    actor_ids = opts.actor, limit = 1000 }, since, till
end

--- Every row of the range, read in windows of at most 31 days (1 day with minute buckets).
-- fetch(params) -> pager. -> rows | nil, err
function M.read(fetch, params, since, till)
  local window = params.time_bucket_width == "1m" and 86400 or M.WINDOW
  local rows = {}
  local s = since
  while s < till do
    local e = math.min(till, s + window)
    local p = {}
    for k, v in pairs(params) do p[k] = v end
    p.starting_at, p.ending_at = iso(s), iso(e)
    local got, err = fetch(p):all()
    if not got then return nil, err end
    for _, r in ipairs(got) do rows[#rows + 1] = r end
    s = e
  end
  return rows
end

-- How a dimension's value reads in a table: an actor as its e-mail or id, null as "-"
-- ("(default)" for the default workspace).
function M.shown(dim, v)
  if v == nil or v == json.null then return dim == "workspace_id" and "(default)" or nil end
  if type(v) == "table" then return v.email_address ~= json.null and v.email_address or v.user_id
    or v.service_account_id or v.api_key_id or v.type end
  return tostring(v)
end

-- Rows with the same dimensions (and bucket) summed across windows. `add(acc, row)`, `new()`.
-- -> list of { key, starting_at, values = { --by name -> shown }, acc }
function M.merge(rows, names, group_by, width, new, add)
  local by_key, out = {}, {}
  for _, r in ipairs(rows) do
    local values, parts = {}, { width and r.starting_at or "" }
    for i, d in ipairs(group_by) do
      values[names[i]] = M.shown(d, r.group[d])
      local raw = r.group[d]
      parts[#parts + 1] = type(raw) == "table" and json.encode(raw) or tostring(raw)
    end
    local k = table.concat(parts, "\1")
    local m = by_key[k]
    if not m then
      m = { key = k, starting_at = width and r.starting_at or nil, values = values, acc = new(), group = r.group }
      by_key[k] = m
      out[#out + 1] = m
    end
    add(m.acc, r)
  end
  return out
end

local function csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[",\n\r]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

--- CSV of rows under columns ({ "HEADER", field | fn }), header first.
function M.csv(rows, columns)
  local out = {}
  local line = {}
  for j, c in ipairs(columns) do line[j] = csv_cell(c[1]) end
  out[1] = table.concat(line, ",")
  for _, r in ipairs(rows) do
    line = {}
    for j, c in ipairs(columns) do
      local get = c[2]
      line[j] = csv_cell(type(get) == "function" and get(r) or r[get])
    end
    out[#out + 1] = table.concat(line, ",")
  end
  return table.concat(out, "\n") .. "\n"
end

--- The names of ids, read once per admin client (lua/anthropic/directory.lua).
M.names = require("anthropic.directory").names

-- The --by dimensions whose rows show a name next to the id.
M.NAMED = { workspace = true, api_key = true, actor = true }

--- The leading columns: the time bucket (with day/hour) and one per --by dimension, each
-- dimension of M.NAMED followed by its NAME column when admin is given (the names are read by
-- M.output for a table or CSV, not for --json: M.names).
function M.key_columns(names, width, admin)
  local cols = {}
  if width then
    cols[1] = { width == "1d" and "DAY" or "TIME", function(r)
      if r.starting_at == nil then return r.label end
      return width == "1d" and r.starting_at:sub(1, 10) or r.starting_at
    end }
  end
  for _, n in ipairs(names) do
    cols[#cols + 1] = { (n:upper():gsub("_", " ")), function(r) return r.label or r.values[n] end }
    if admin and M.NAMED[n] then
      cols[#cols + 1] = { (n:upper():gsub("_", " ")) .. " NAME", function(r)
        local v = r.values and r.values[n]
        return v and M.names(admin)[n][v] or nil
      end, names = admin }
    end
  end
  if #cols == 0 then cols[1] = { "RANGE", function(r) return r.range end } end
  -- the TOTAL label goes in the first column only
  local first = cols[1][2]
  cols[1][2] = function(r) if r.label then return r.label end return first(r) end
  for i = 2, #cols do
    local get = cols[i][2]
    cols[i][2] = function(r) if r.label then return "" end return get(r) end
  end
  return cols
end

--- A JSON row: the range, the --by values (raw: an actor is its object) and the sums.
function M.json_row(m, names, group_by, sums)
  local row = { starting_at = m.starting_at, sums = sums }
  for i, n in ipairs(names) do
    local v = m.group[group_by[i]]
    row[n] = v
  end
  return row
end

M.decimal = decimal
M.dollars = reports.dollars
M.iso = iso

--- The output: a table with a TOTAL row, --csv, or --json (view.json).
function M.output(opts, shown, columns, doc)
  if not opts.json then -- the names, read now (the client is closed once the command returns)
    for _, c in ipairs(columns) do
      if c.names then M.names(c.names) end
    end
  end
  if opts.csv then
    if opts.json then error("--csv and --json cannot be combined", 0) end
    return shown, { text = M.csv(shown, columns) }
  end
  return shown, { columns = columns, json = doc }
end

return M
