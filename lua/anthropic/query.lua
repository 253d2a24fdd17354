--- Query strings the way the Anthropic API reads them: sorted keys, arrays in bracket form
-- (group_by[]=model&group_by[]=workspace_id), booleans as true/false.
local compat = require "anthropic.compat"

local M = {}

local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end
M.escape = escape

-- Numbers: integers as they are; floats with an integer value (within 64 bits) as integers
-- (limit = 20.0 -> "20"); other floats in the shortest form that reads back as the same double
-- (0.1 -> "0.1", 2^70 -> "1.1805916207174113e+21"). NaN and infinities are refused.
local function number(name, v)
  if v ~= v or v == math.huge or v == -math.huge then
    error(string.format("query parameter '%s' must be a finite number (got %s)", name,
      v ~= v and "nan" or v > 0 and "inf" or "-inf"), 5)
  end
  if compat.INTEGERS and compat.is_integer(v) then return tostring(v) end
  if v == math.floor(v) and v >= -2^63 and v < 2^63 then return string.format("%d", v) end
  for digits = 14, 16 do
    local s = string.format("%." .. digits .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end

local function scalar(name, v)
  local t = type(v)
  if t == "boolean" then return v and "true" or "false" end
  if t == "number" then return number(name, v) end
  if t == "string" then return v end
  -- (concatenated: 5.1's string.format('%s') stops at a NUL byte of the name)
  error("query parameter '" .. name .. "' must be a string, number or boolean (got " .. t .. ")", 4)
end

--- Build "a=1&b[]=x&b[]=y" from a table (nil when empty).
function M.build(params)
  if not params then return nil end
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = params[k]
    if type(v) == "table" then
      for _, item in ipairs(v) do out[#out + 1] = escape(k) .. "[]=" .. escape(scalar(k, item)) end
    else
      out[#out + 1] = escape(k) .. "=" .. escape(scalar(k, v))
    end
  end
  if #out == 0 then return nil end
  return table.concat(out, "&")
end

return M
