-- Helpers shared by the Admin API modules: times, query parameters, body checks, the two
-- pagination models (ID cursor and opaque page tokens) and error responses.
local errors = require "anthropic.emulator.errors"
local json = require "anthropic.emulator.json"
local util = require "anthropic.emulator.util"

local M = {}

M.null = json.null

function M.bad(message)
  return errors.response(400, message)
end

function M.not_found(message)
  return errors.response(404, message)
end

function M.ok(body)
  return { status = 200, body = body }
end

-- A value that is there (not nil, not JSON null).
function M.present(v)
  return v ~= nil and v ~= json.null
end

-- v, or JSON null when v is nil.
function M.opt(v)
  if v == nil then return json.null end
  return v
end

function M.is_int(v)
  return type(v) == "number" and v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53
end

function M.is_object(t)
  return type(t) == "table" and t ~= json.null and t[1] == nil
end

function M.is_list(t)
  return type(t) == "table" and (next(t) == nil or t[1] ~= nil)
end

function M.set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- "'a', 'b' or 'c'" (the wording of the API's enum errors).
function M.enum_words(list)
  local quoted = {}
  for i, v in ipairs(list) do quoted[i] = "'" .. v .. "'" end
  if #quoted == 1 then return quoted[1] end
  return table.concat(quoted, ", ", 1, #quoted - 1) .. " or " .. quoted[#quoted]
end

-- nil when v is one of list, else a 400 response naming the field.
function M.check_enum(field, v, list)
  for _, x in ipairs(list) do
    if v == x then return nil end
  end
  return M.bad(field .. ": Input should be " .. M.enum_words(list))
end

---------------------------------------------------------------------------------------------------
-- Times: Unix seconds inside, RFC 3339 outside.

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function days_in_month(y, m)
  if m == 2 then
    local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
    return leap and 29 or 28
  end
  return ({ 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 })[m]
end

-- "2026-08-22T10:00:00Z" (also with fractions, an offset such as +02:00, or no zone = UTC)
-- -> Unix seconds (integer part only) | nil
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) or h > 23 or mi > 59 or sec > 60 then return nil end
  rest = rest:gsub("^%.%d+", "")
  local offset = 0
  if rest ~= "Z" and rest ~= "z" and rest ~= "" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 60 + tonumber(om)) * 60
    if sign == "-" then offset = -offset end
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
end

-- "2026-08-22" -> Unix seconds of its UTC midnight | nil
function M.parse_date(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) then return nil end
  return days_from_civil(y, mo, d) * 86400
end

function M.rfc3339(t)
  return util.rfc3339(t)
end

function M.date(t)
  return os.date("!%Y-%m-%d", math.floor(t))
end

local UNITS = { s = 1, m = 60, h = 3600, d = 86400 }

-- A time in a seed or control body: RFC 3339, a date, Unix seconds, or a time relative to now
-- ("-90d", "+1h", "-30m", "-10s"). -> Unix seconds | nil, message
function M.seed_time(v, now, field)
  if type(v) == "number" then return math.floor(v) end
  if type(v) == "string" then
    local sign, n, unit = v:match("^([+-])(%d+)([smhd])$")
    if sign then
      local delta = tonumber(n) * UNITS[unit]
      return math.floor(now) + (sign == "-" and -delta or delta)
    end
    local t = M.parse_time(v) or M.parse_date(v)
    if t then return t end
  end
  return nil, field .. ": expected an RFC 3339 time, a YYYY-MM-DD date, Unix seconds or a relative time like \"-90d\""
end

---------------------------------------------------------------------------------------------------
-- Query parameters

-- The values of an array parameter, sent as name[]=a&name[]=b (or name=a&name=b). -> list | nil
function M.list_param(params, name)
  local out, seen = {}, false
  for _, k in ipairs({ name .. "[]", name }) do
    local v = params[k]
    if type(v) == "string" then
      out[#out + 1] = v
      seen = true
    elseif type(v) == "table" then
      for _, x in ipairs(v) do out[#out + 1] = x end
      seen = true
    end
  end
  if not seen then return nil end
  return out
end

-- A single-valued parameter. -> value | nil | false, 400 response (repeated)
function M.param(params, name)
  local v = params[name]
  if type(v) == "table" then return false, M.bad(name .. ": expected a single value") end
  return v
end

function M.bool_param(params, name)
  local v, err = M.param(params, name)
  if v == false then return nil, err end
  if v == nil then return false end
  if v == "true" or v == "1" then return true end
  if v == "false" or v == "0" then return false end
  return nil, M.bad(name .. ": Input should be a valid boolean")
end

-- limit in min..max, default def. -> n | nil, 400 response
function M.limit_param(params, def, max)
  local v, err = M.param(params, "limit")
  if v == false then return nil, err end
  if v == nil then return def end
  local n = v:match("^%d+$") and tonumber(v)
  if not n then return nil, M.bad("limit: Input should be a valid integer") end
  if n < 1 then return nil, M.bad("limit: Input should be greater than or equal to 1") end
  if n > max then return nil, M.bad("limit: Input should be less than or equal to " .. max) end
  return n
end

---------------------------------------------------------------------------------------------------
-- Request bodies

-- The request body as an object ({} when empty). -> table | nil, 400 response
function M.body(emu, req, allow_empty)
  if allow_empty and (req.body == nil or req.body:match("^%s*$")) then return {} end
  local b, err = emu:json_body(req)
  if not b then return nil, err end
  if not M.is_object(b) then return nil, M.bad("Request body must be a JSON object") end
  return b
end

-- nil when every key of body is in allowed (a set), else a 400 for the first extra one.
function M.check_fields(body, allowed)
  local extra = {}
  for k in pairs(body) do
    if not allowed[k] then extra[#extra + 1] = tostring(k) end
  end
  table.sort(extra)
  if extra[1] then return M.bad(extra[1] .. ": Extra inputs are not permitted") end
end

---------------------------------------------------------------------------------------------------
-- ID-cursor pages: items are in list order (newest first everywhere in the emulator).
-- after_id gives the items after that id (older); before_id gives the `limit` items just before
-- it (newer), still in list order. has_more says whether there are items beyond the page in the
-- direction of travel: after the page (no cursor, or after_id), or before it (before_id).

-- page(items, params, to_json [, id_of]) -> { data, has_more, first_id, last_id } | nil, 400 response
function M.page(items, params, to_json, id_of)
  id_of = id_of or function(item) return item.id end
  local limit, err = M.limit_param(params, 20, 1000)
  if not limit then return nil, err end
  local after, before
  after, err = M.param(params, "after_id")
  if after == false then return nil, err end
  before, err = M.param(params, "before_id")
  if before == false then return nil, err end
  if after and before then return nil, M.bad("after_id and before_id cannot both be given") end
  local function index_of(id, name)
    for i, item in ipairs(items) do
      if id_of(item) == id then return i end
    end
    return nil, M.bad(name .. ": no object with id " .. id)
  end
  local first, last, has_more
  if before then
    local i, e = index_of(before, "before_id")
    if not i then return nil, e end
    last = i - 1
    first = math.max(1, last - limit + 1)
    has_more = first > 1
  else
    first = 1
    if after then
      local i, e = index_of(after, "after_id")
      if not i then return nil, e end
      first = i + 1
    end
    last = math.min(#items, first + limit - 1)
    has_more = last < #items
  end
  local data = json.array()
  for i = first, last do data[#data + 1] = to_json(items[i]) end
  return {
    data = data, has_more = has_more,
    first_id = first <= last and id_of(items[first]) or json.null,
    last_id = first <= last and id_of(items[last]) or json.null,
  }
end

-- Sorts objects newest first by their time field, then by creation order (newest first).
function M.newest_first(list, field)
  table.sort(list, function(a, b)
    if a[field] ~= b[field] then return a[field] > b[field] end
    return a.seq > b.seq
  end)
  return list
end

---------------------------------------------------------------------------------------------------
-- Opaque page tokens: "page_" + hex of "v1|<query fingerprint>|<position>". A token belongs to the
-- query that made it: using it with other parameters (limit and page aside) gives a 400.

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(s)
  if #s % 2 ~= 0 or s:find("[^%x]") then return nil end
  return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local function fingerprint(params, path)
  local parts = {}
  for k, v in pairs(params) do
    if k ~= "page" and k ~= "limit" then
      if type(v) == "table" then v = table.concat(v, "\1") end
      parts[#parts + 1] = k .. "=" .. v
    end
  end
  table.sort(parts)
  return string.format("%08x", util.hash(path .. "?" .. table.concat(parts, "&")))
end

function M.make_token(req, position)
  return "page_" .. hex("v1|" .. fingerprint(req.params, req.path) .. "|" .. string.format("%d", position))
end

-- The position a page token stands for (default when there is no page). -> n | nil, 400 response
function M.read_token(req, default)
  local page, err = M.param(req.params, "page")
  if page == false then return nil, err end
  if page == nil then return default end
  local raw = page:match("^page_(%x+)$") and unhex(page:sub(6))
  local fp, pos = (raw or ""):match("^v1|(%x+)|(%-?%d+)$")
  if not fp then return nil, M.bad("page: invalid page token") end
  if fp ~= fingerprint(req.params, req.path) then
    return nil, M.bad("page: the page token does not match the current query parameters")
  end
  return tonumber(pos)
end

-- A page of a list with page tokens: { data, has_more, next_page }. -> body | nil, 400 response
function M.token_page(req, items, limit, to_json)
  local start, err = M.read_token(req, 1)
  if not start then return nil, err end
  local data = json.array()
  local last = math.min(#items, start + limit - 1)
  for i = start, last do data[#data + 1] = to_json and to_json(items[i]) or items[i] end
  local more = last < #items
  return { data = data, has_more = more, next_page = more and M.make_token(req, last + 1) or json.null }
end

return M
