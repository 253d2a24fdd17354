-- Audit an organization: active API keys older than 90 days, and last month's cost per workspace.
--
--   ANTHROPIC_ADMIN_KEY=... lua5.4 examples/audit.lua [YYYY-MM]
--
-- The admin key comes from ANTHROPIC_ADMIN_KEY (never the command line); ANTHROPIC_BASE_URL can
-- point it at the local emulator. The optional argument picks the month (default: last month, UTC).
local anthropic = require "anthropic"

local DAY = 86400
local MAX_AGE_DAYS = 90

-- Seconds since the epoch of an RFC 3339 time ("2026-05-01T12:00:00Z", "...+02:00"), in UTC.
local function utc_seconds(s)
  local y, mo, d, h, mi, sec, rest = s:match("^(%d+)-(%d+)-(%d+)[Tt](%d+):(%d+):(%d+)(.*)$")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y, mo = y - 1, mo + 12 end -- days from 1970-01-01 in the proleptic Gregorian calendar
  local f = math.floor
  local days = 365 * y + f(y / 4) - f(y / 100) + f(y / 400) + f((153 * (mo - 3) + 2) / 5) + tonumber(d) - 719469
  local t = days * DAY + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  local sign, oh, om = rest:match("([+-])(%d%d):(%d%d)$")
  if sign then t = t - (sign == "+" and 1 or -1) * (tonumber(oh) * 3600 + tonumber(om) * 60) end
  return t
end

-- The first instant of the month `month` ("YYYY-MM") and of the month after it, as RFC 3339.
local function month_range(month)
  local y, m = month:match("^(%d%d%d%d)-(%d%d)$")
  if not y then error("the month must look like 2026-07 (got " .. month .. ")", 0) end
  y, m = tonumber(y), tonumber(m)
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return string.format("%04d-%02d-01T00:00:00Z", y, m), string.format("%04d-%02d-01T00:00:00Z", ny, nm)
end

local function last_month(now)
  local t = os.date("!*t", now)
  local y, m = t.year, t.month - 1
  if m == 0 then y, m = y - 1, 12 end
  return string.format("%04d-%02d", y, m)
end

local function fail(err)
  io.stderr:write("audit: ", tostring(err), "\n")
  os.exit(1)
end

local admin = anthropic.admin()
local now = os.time()

-- 1. Active keys older than 90 days: candidates for rotation.
print(string.format("Active API keys older than %d days:", MAX_AGE_DAYS))
local old = 0
local ok, err = pcall(function()
  for key in admin.api_keys:list({ status = "active", limit = 1000 }):each() do
    local created = utc_seconds(key.created_at)
    if created and now - created > MAX_AGE_DAYS * DAY then
      old = old + 1
      print(string.format("  %-32s %-24s %-24s %4d days  workspace %s", key.id, key.name or "", key.partial_key_hint
        or "", math.floor((now - created) / DAY),
        (key.scope and key.scope.workspace_id) or key.workspace_id or "(default)")) -- (scope: 2026-10-21)
    end
  end
end)
if not ok then fail(err) end
if old == 0 then print("  none") end

-- 2. Cost per workspace for the month, summed exactly from the report's decimal cents.
local month = arg and arg[1] or last_month(now)
local from, to = month_range(month)
local names = { default = "Default workspace" }
local workspaces, werr = admin.workspaces:list({ include_archived = true, limit = 1000 }):all()
if not workspaces then fail(werr) end
for _, w in ipairs(workspaces) do names[w.id] = w.name end

-- Read the report once (every page), then sum it two ways.
local buckets, cerr = admin.cost:report({ starting_at = from, ending_at = to, group_by = { "workspace_id" } }):all()
if not buckets then fail(cerr) end
local by_workspace, total = admin.reports.cost(buckets, "workspace"), admin.reports.cost(buckets)

print()
print(string.format("Cost per workspace, %s (UTC):", month))
for _, row in ipairs(admin.reports.rows(by_workspace)) do
  print(string.format("  %-34s %-30s $%12s", row.key, names[row.key] or "", admin.reports.dollars(row.amount, 2)))
end
print(string.format("  %-65s $%12s", "total", admin.reports.dollars(total.amount, 2)))
admin:close()
