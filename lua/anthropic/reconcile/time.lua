--- UTC time helpers for reconcile: RFC 3339 <-> Unix seconds, month boundaries. Plain arithmetic
-- (no os.time, which works in local time).
local M = {}

M.DAY = 86400

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

--- "2026-08-01T12:00:00Z" (fraction and offset allowed) -> Unix seconds | nil
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * M.DAY + tonumber(h) * 3600
    + tonumber(mi) * 60 + tonumber(sec)
  rest = rest:gsub("^%.%d+", "")
  local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
  if sign then
    local off = (tonumber(oh) * 60 + tonumber(om)) * 60
    t = t - (sign == "+" and off or -off)
  elseif rest ~= "Z" and rest ~= "z" and rest ~= "" then
    return nil
  end
  return t
end

--- Unix seconds -> "2026-08-01T12:00:00Z"
function M.format(t)
  t = math.floor(t)
  local days = math.floor(t / M.DAY)
  local s = t - days * M.DAY
  local y, m, d = civil_from_days(days)
  return string.format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, math.floor(s / 3600), math.floor(s % 3600 / 60),
    s % 60)
end

--- The first instant of t's UTC month and of the next one (Unix seconds).
function M.month(t)
  local y, m = civil_from_days(math.floor(t / M.DAY))
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return days_from_civil(y, m, 1) * M.DAY, days_from_civil(ny, nm, 1) * M.DAY
end

--- Whole days from a to b (rounded down).
function M.days(a, b)
  return math.floor((b - a) / M.DAY)
end

return M
