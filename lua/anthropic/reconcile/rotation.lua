--- Key rotation and idle keys. Keys cannot be created through the API, so rotation is a policy on
-- the keys that exist: a key entry with max_age_days names a family (the keys with that name in
-- the workspace); an active key older than max_age_days is flagged with the days overdue, and with
-- rotate = "deactivate" it is deactivated, but only when a newer active key of the same family
-- exists (never the last working key). idle_days flags active keys with no usage in that many days
-- (usage report grouped by key); on_idle = "deactivate" deactivates them.
--   read_usage(admin, now, days) -> { [api_key_id] = tokens } | nil, err
--   evaluate(entry, family, workspace_name, usage, now) -> checks, wants
-- wants: { [key_id] = { status = "inactive", reason = "...", rule = "rotation" | "idle" } }
local names = require "anthropic.names"
local read = require "anthropic.reconcile.read"
local reports = require "anthropic.reports"
local time = require "anthropic.reconcile.time"

local M = {}

M.DUE_SOON_DAYS = 14

function M.read_usage(admin, now, days)
  local pager = admin.usage:messages { starting_at = time.format(now - days * time.DAY), bucket_width = "1d",
                                       group_by = { "api_key_id" }, limit = 31 }
  local sums, err = reports.usage(pager, "api_key")
  if not sums then return nil, read.context(err, "the usage report") end
  local out = {}
  for id, s in pairs(sums) do out[id] = s.input_tokens + s.output_tokens end
  return out
end

local function created(k)
  return time.parse(k.created_at) or 0
end

-- The newest active key of the family created after k, or nil.
local function newer_active(family, k)
  local newer
  for _, other in ipairs(family) do
    if other ~= k and other.status == "active" and created(other) > created(k)
        and (not newer or created(other) > created(newer)) then
      newer = other
    end
  end
  return newer
end

-- Checks are made for active keys. Wants are made for inactive keys too, so that a key the policy
-- turned off is not turned on again by a status = "active" in the file on the next run.
function M.evaluate(entry, family, workspace_name, usage, now)
  local checks, wants = {}, {}
  for _, k in ipairs(family) do
    local active = k.status == "active"
    local age = time.days(created(k), now)
    local overdue = entry.max_age_days and age - entry.max_age_days
    local newer = overdue and newer_active(family, k)
    if overdue and overdue > 0 and newer and entry.rotate == "deactivate" then
      wants[k.id] = { status = "inactive", rule = "rotation",
        reason = string.format("rotation: %d days past max_age_days %d; newer key %s is active", overdue,
          entry.max_age_days, newer.id) }
    end
    if active and overdue and overdue > -M.DUE_SOON_DAYS then
      local c = { kind = "rotation", key_id = k.id, key = k.name, workspace = workspace_name, age_days = age,
                  max_age_days = entry.max_age_days, overdue_days = math.max(overdue, 0),
                  newer_active_key = newer and newer.id or nil, status = overdue > 0 and "overdue" or "due_soon" }
      if overdue > 0 then
        c.text = string.format("rotation: key %s (%s) in %s is %d days old, %d days past max_age_days %d",
          names.quote(k.name), k.id, names.quote(workspace_name), age, overdue, entry.max_age_days)
          .. (newer and ("; newer key " .. newer.id .. " is active")
            or ("; create a new key named " .. names.quote(k.name) .. " in the Console"))
      else
        c.text = string.format("rotation: key %s (%s) in %s is due in %d days (max_age_days %d)",
          names.quote(k.name), k.id, names.quote(workspace_name), -overdue, entry.max_age_days)
      end
      checks[#checks + 1] = c
    end
    local idle = entry.idle_days and usage and (usage[k.id] or 0) == 0
      and created(k) <= now - entry.idle_days * time.DAY
    if idle and active then
      checks[#checks + 1] = { kind = "idle", key_id = k.id, key = k.name, workspace = workspace_name,
        idle_days = entry.idle_days, status = "idle",
        text = string.format("idle: key %s (%s) in %s has no usage in the last %d days", names.quote(k.name), k.id,
          names.quote(workspace_name), entry.idle_days) }
    end
    if idle and entry.on_idle == "deactivate" and not wants[k.id] then
      wants[k.id] = { status = "inactive", rule = "idle",
        reason = string.format("idle: no usage in the last %d days", entry.idle_days) }
    end
  end
  return checks, wants
end

return M
