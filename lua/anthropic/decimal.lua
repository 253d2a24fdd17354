--- Exact decimal arithmetic on strings, for money: the Admin API gives costs as decimal strings
-- in cents ("123.456789"), and summing them as floats drifts (0.1 + 0.2 ~= 0.3).
-- A value is { neg = bool, mag = "digits" (no leading zeros; "0" for zero), scale = n }, meaning
-- (-1)^neg * mag * 10^-scale. Works with the number types of Lua 5.1 to 5.4.
local M = {}

local CHUNK = 7 -- digits per step; two chunks plus a carry stay exact in a double

local function strip_zeros(s)
  s = s:gsub("^0+", "")
  return s == "" and "0" or s
end

local function make(neg, mag, scale)
  mag = strip_zeros(mag)
  return { neg = neg and mag ~= "0", mag = mag, scale = scale }
end

--- Parse "123.45", "-0.5", "1e-3", "+7" or a number -> value | nil, message.
-- Numbers go through string.format("%.15g"), so a float's decimal look is kept (0.1 -> "0.1").
function M.parse(v)
  if type(v) == "table" and v.mag then return v end
  local s = v
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil, "not a finite number" end
    s = (math.floor(v) == v and math.abs(v) < 2 ^ 53) and string.format("%.0f", v) or string.format("%.15g", v)
  end
  if type(s) ~= "string" then return nil, "a decimal must be a string or a number (got " .. type(v) .. ")" end
  local sign, int, frac, exp = s:match("^%s*([+-]?)(%d*)%.?(%d*)[eE]?([+-]?%d*)%s*$")
  local has_e = s:find("[eE]") ~= nil
  if not sign or (int == "" and frac == "") or has_e ~= (exp:find("%d") ~= nil) or (exp ~= "" and not has_e) then
    return nil, "not a decimal number: '" .. s .. "'"
  end
  local mag, scale = int .. frac, #frac - (tonumber(exp) or 0)
  if scale < 0 then
    mag, scale = mag .. string.rep("0", -scale), 0
  end
  return make(sign == "-", mag, scale)
end

local function parse_or_raise(v)
  local d, msg = M.parse(v)
  if not d then error(msg, 3) end
  return d
end

-- a, b: digit strings of the same length -> their sum as a digit string
local function add_mag(a, b)
  local out, carry, i = {}, 0, #a
  while i >= 1 do
    local j = math.max(1, i - CHUNK + 1)
    local s = tonumber(a:sub(j, i)) + tonumber(b:sub(j, i)) + carry
    local width = i - j + 1
    local limit = 10 ^ width
    if s >= limit then s, carry = s - limit, 1 else carry = 0 end
    out[#out + 1] = string.format("%0" .. width .. ".0f", s)
    i = j - 1
  end
  if carry > 0 then out[#out + 1] = "1" end
  local r = {}
  for k = #out, 1, -1 do r[#r + 1] = out[k] end
  return table.concat(r)
end

-- a - b for digit strings of the same length with a >= b
local function sub_mag(a, b)
  local out, borrow, i = {}, 0, #a
  while i >= 1 do
    local j = math.max(1, i - CHUNK + 1)
    local s = tonumber(a:sub(j, i)) - tonumber(b:sub(j, i)) - borrow
    local width = i - j + 1
    if s < 0 then s, borrow = s + 10 ^ width, 1 else borrow = 0 end
    out[#out + 1] = string.format("%0" .. width .. ".0f", s)
    i = j - 1
  end
  local r = {}
  for k = #out, 1, -1 do r[#r + 1] = out[k] end
  return table.concat(r)
end

-- The two magnitudes on a common scale and length.
local function align(a, b)
  local scale = math.max(a.scale, b.scale)
  local x = a.mag .. string.rep("0", scale - a.scale)
  local y = b.mag .. string.rep("0", scale - b.scale)
  local width = math.max(#x, #y)
  return string.rep("0", width - #x) .. x, string.rep("0", width - #y) .. y, scale
end

--- a + b (values or anything parse accepts) -> value
function M.add(a, b)
  a, b = parse_or_raise(a), parse_or_raise(b)
  local x, y, scale = align(a, b)
  if a.neg == b.neg then return make(a.neg, add_mag(x, y), scale) end
  if x >= y then return make(a.neg, sub_mag(x, y), scale) end -- same length: string order is numeric order
  return make(b.neg, sub_mag(y, x), scale)
end

--- Sum of an array of values -> value ("0" when empty)
function M.sum(list)
  local total = make(false, "0", 0)
  for _, v in ipairs(list) do total = M.add(total, v) end
  return total
end

--- -1, 0 or 1
function M.compare(a, b)
  local d = M.add(a, M.negate(b))
  if d.mag == "0" then return 0 end
  return d.neg and -1 or 1
end

function M.negate(a)
  a = parse_or_raise(a)
  return make(not a.neg, a.mag, a.scale)
end

--- a * 10^-n (n > 0 moves the point left: cents -> dollars is shift(x, 2)), exactly
function M.shift(a, n)
  a = parse_or_raise(a)
  local scale = a.scale + n
  if scale < 0 then return make(a.neg, a.mag .. string.rep("0", -scale), 0) end
  return make(a.neg, a.mag, scale)
end

--- a rounded to `places` decimals, half away from zero
function M.round(a, places)
  a = parse_or_raise(a)
  if a.scale <= places then return a end
  local drop = a.scale - places
  local mag = string.rep("0", drop + 1 - #a.mag) .. a.mag
  local keep, first = mag:sub(1, #mag - drop), mag:sub(#mag - drop + 1, #mag - drop + 1)
  if first >= "5" then keep = add_mag(keep, string.rep("0", #keep - 1) .. "1") end
  return make(a.neg, keep, places)
end

--- The value as a plain decimal string. places: exactly that many decimals (rounded half away
-- from zero); without it, every significant digit, at least `min_places` decimals (default 0).
function M.tostring(a, places, min_places)
  a = parse_or_raise(a)
  if places then a = M.round(a, places) end
  local want = places or math.max(min_places or 0, 0)
  local mag, scale = a.mag, a.scale
  if not places then -- drop zeros after the point
    while scale > want and mag:sub(-1) == "0" and #mag > 1 do mag, scale = mag:sub(1, -2), scale - 1 end
    if mag == "0" then scale = math.min(scale, want) end
  end
  if scale < want then mag, scale = mag .. string.rep("0", want - scale), want end
  mag = string.rep("0", scale + 1 - #mag) .. mag
  local int, frac = mag:sub(1, #mag - scale), mag:sub(#mag - scale + 1)
  local neg = a.neg and (int:find("[1-9]") or frac:find("[1-9]"))
  return (neg and "-" or "") .. int .. (scale > 0 and ("." .. frac) or "")
end

return M
