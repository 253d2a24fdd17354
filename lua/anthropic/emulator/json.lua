-- JSON for the emulator: decoding through lua-cjson, encoding here so that the output is
-- deterministic (object keys sorted), integers stay integers, and empty arrays can be expressed.
local cjson = require "cjson"

local M = {}

M.null = cjson.null

local ARRAY = {}
-- Marks a table as a JSON array (so that an empty table encodes as [] rather than {}).
function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

-- decode(s) -> value | nil, message
function M.decode(s)
  if type(s) ~= "string" then return nil, "not a string" end
  local ok, v = pcall(cjson.decode, s)
  if not ok then return nil, tostring(v) end
  return v
end

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
local function escape_char(c)
  return escapes[c] or string.format("\\u%04x", c:byte())
end

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', escape_char) .. '"'
end

local function encode_number(n)
  if n ~= n or n == math.huge or n == -math.huge then return "null" end
  if math.floor(n) == n and n > -1e15 and n < 1e15 then
    return string.format("%.0f", n)
  end
  local s = string.format("%.14g", n)
  if tonumber(s) ~= n then s = string.format("%.17g", n) end
  return s
end

-- A table is encoded as an array when it is marked, or when its keys are exactly 1..n (n >= 1).
local function array_length(t)
  if getmetatable(t) == ARRAY then return #t end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or math.floor(k) ~= k then return nil end
    if k > n then n = k end
  end
  if n == 0 or n ~= #t then return nil end
  return n
end

local encode

local function encode_table(t, out, depth)
  if depth > 200 then error("json: nesting too deep") end
  local n = array_length(t)
  if n then
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      encode(t[i], out, depth + 1)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k
    elseif type(k) == "number" then keys[#keys + 1] = k
    end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = encode_string(tostring(k))
    out[#out + 1] = ":"
    encode(t[k], out, depth + 1)
  end
  out[#out + 1] = "}"
end

encode = function(v, out, depth)
  local tv = type(v)
  if tv == "string" then out[#out + 1] = encode_string(v)
  elseif tv == "number" then out[#out + 1] = encode_number(v)
  elseif tv == "boolean" then out[#out + 1] = tostring(v)
  elseif tv == "table" then encode_table(v, out, depth)
  elseif v == nil or v == M.null then out[#out + 1] = "null"
  else error("json: cannot encode a " .. tv)
  end
end

-- encode(v) -> string. Keys are sorted, so equal values give equal text.
function M.encode(v)
  local out = {}
  encode(v, out, 0)
  return table.concat(out)
end

return M
