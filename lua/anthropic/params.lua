--- Checking and converting request parameters from an endpoint's `params` description.
-- Each entry maps a parameter name to a rule:
--   "string" | "boolean" | "table"          the Lua type
--   { int = { min, max } }                   a whole number in range
--   { enum = {...} }                         one of the values (closed: anything else is refused)
--   { list = {...} | true }                  an array (a single string is taken as a one-item array);
--                                            with a table, every item must be one of its values
--   { time = "datetime" | "date" }           RFC 3339 string or os.time() number -> "YYYY-MM-DDTHH:MM:SSZ";
--                                            "date": "YYYY-MM-DD" string or number -> "YYYY-MM-DD"
--   { type = "string" }                      the Lua type, in a rule that says more (required)
--   function(value, params) -> value | nil, message   anything else (params: all of them)
--   rule.required = true                     must be present
--   rule.refuse = { value = "why" }          a value the API refuses, with the reason
-- Parameters the description does not name pass through unchanged (the API may add some).
-- check(label, rules, params) -> converted copy of params | nil, message
local options = require "anthropic.options"

local M = {}

local function list_values(values)
  local out = {}
  for i, v in ipairs(values) do out[i] = '"' .. tostring(v) .. '"' end
  return table.concat(out, ", ")
end

local function in_list(values, v)
  for _, x in ipairs(values) do
    if x == v then return true end
  end
  return false
end

local function two(s, i) return tonumber(s:sub(i, i + 1)) end

-- "YYYY-MM-DD" with a plausible month and day.
local function valid_date(s)
  if not s:match("^%d%d%d%d%-%d%d%-%d%d$") then return false end
  local month, day = two(s, 6), two(s, 9)
  return month >= 1 and month <= 12 and day >= 1 and day <= 31
end

--- true when s is an RFC 3339 date-time: 2026-08-01T00:00:00Z, with optional fraction and offset.
function M.is_datetime(s)
  if type(s) ~= "string" or not valid_date(s:sub(1, 10)) then return false end
  local sep, h, m, sec, rest = s:sub(11):match("^([Tt])(%d%d):(%d%d):(%d%d)(.*)$")
  if not sep or tonumber(h) > 23 or tonumber(m) > 59 or tonumber(sec) > 60 then return false end
  rest = rest:gsub("^%.%d+", "")
  if rest == "Z" or rest == "z" then return true end
  local oh, om = rest:match("^[+-](%d%d):(%d%d)$")
  return oh ~= nil and tonumber(oh) <= 23 and tonumber(om) <= 59
end

local function seconds(v)
  return type(v) == "number" and v == v and v >= 0 and v < 253402300800 -- before year 10000
end

--- A time parameter in the API's form: a number of seconds (os.time()) becomes UTC; strings are checked.
-- -> string | nil, message
function M.time(v, form)
  if type(v) == "number" then
    if not seconds(v) then return nil, "must be an os.time() value from 1970 to 9999" end
    return os.date(form == "date" and "!%Y-%m-%d" or "!%Y-%m-%dT%H:%M:%SZ", math.floor(v))
  end
  if type(v) ~= "string" then return nil, "must be a string or an os.time() number (got " .. type(v) .. ")" end
  if form == "date" then
    if valid_date(v) then return v end
    return nil, string.format("must be a date 'YYYY-MM-DD' or an os.time() number (got '%s')", v)
  end
  if M.is_datetime(v) then return v end
  return nil, string.format("must be an RFC 3339 time like '2026-08-01T00:00:00Z' or an os.time() number (got '%s')", v)
end

local function check_value(name, rule, v, all)
  if type(rule) == "function" then return rule(v, all) end
  if type(rule) == "string" then
    if type(v) ~= rule then return nil, string.format("%s must be a %s (got %s)", name, rule, type(v)) end
    return v
  end
  if rule.type and type(v) ~= rule.type then
    return nil, string.format("%s must be a %s (got %s)", name, rule.type, type(v))
  end
  if rule.refuse and rule.refuse[v] ~= nil then
    return nil, string.format('%s = "%s" is refused: %s', name, tostring(v), rule.refuse[v])
  end
  if rule.int then
    local lo, hi = rule.int[1], rule.int[2]
    if type(v) ~= "number" or v ~= math.floor(v) or v < lo or v > hi then
      return nil, string.format("%s must be a whole number from %d to %d (got %s)", name, lo, hi,
        type(v) == "number" and options.shown(v) or tostring(v))
    end
    return math.floor(v)
  end
  if rule.enum then
    if not in_list(rule.enum, v) then
      return nil, string.format('%s must be one of %s (got %s)', name, list_values(rule.enum),
        type(v) == "string" and ('"' .. v .. '"') or tostring(v))
    end
    return v
  end
  if rule.time then
    local s, msg = M.time(v, rule.time)
    if not s then return nil, name .. " " .. msg end
    return s
  end
  if rule.list then
    if type(v) == "string" then v = { v } end
    if type(v) ~= "table" then
      return nil, string.format("%s must be an array of strings (got %s)", name, type(v))
    end
    local out = {}
    for i, item in ipairs(v) do
      if type(item) ~= "string" then
        return nil, string.format("%s[%d] must be a string (got %s)", name, i, type(item))
      end
      if type(rule.list) == "table" and not in_list(rule.list, item) then
        return nil, string.format('%s[%d] must be one of %s (got "%s")', name, i, list_values(rule.list), item)
      end
      if rule.refuse and rule.refuse[item] ~= nil then
        return nil, string.format('%s[%d] = "%s" is refused: %s', name, i, item, rule.refuse[item])
      end
      out[i] = item
    end
    return out
  end
  return v
end

function M.check(rules, params)
  local out = {}
  for k, v in pairs(params or {}) do out[k] = v end
  local names = {}
  for name in pairs(rules) do names[#names + 1] = name end
  table.sort(names) -- the same error first on every run
  for _, name in ipairs(names) do
    local rule = rules[name]
    if out[name] == nil then
      if type(rule) == "table" and rule.required then return nil, name .. " is required" end
    else
      local v, msg = check_value(name, rule, out[name], out)
      if v == nil then return nil, msg end
      out[name] = v
    end
  end
  if out.after_id ~= nil and out.before_id ~= nil then
    return nil, "give after_id or before_id, not both"
  end
  return out
end

return M
