--- Monthly spend budgets per workspace, from the cost analytics API (exact cents).
--   read(admin, now) -> { [workspace_id | "default"] = cents (decimal string) } | nil, err
--   check(w, workspace_id, costs, now) -> check
-- A check says how much of the budget the month so far has spent, the percent, a linear
-- projection to the end of the month, the warn_at thresholds crossed, and whether the budget is
-- exceeded. The percent and the projection are estimates (floats, shown rounded); the spend and
-- the comparison with the budget are exact.
local compat = require "anthropic.compat"
local decimal = require "anthropic.decimal"
local names = require "anthropic.names"
local read = require "anthropic.reconcile.read"
local reports = require "anthropic.reports"
local time = require "anthropic.reconcile.time"

local M = {}

--- Month-to-date cost per workspace (UTC month of `now`), from the analytics API (the range
-- ends at the next whole hour, so the current hour counts).
function M.read(admin, now)
  local first, next_first = time.month(now)
  local stop = math.min(next_first, now - now % 3600 + 3600)
  local pager = admin.analytics:cost { starting_at = time.format(first), ending_at = time.format(stop),
    group_by = { "workspace_id" }, limit = 1000 }
  local out = {}
  local ok, err = compat.pcall(function() -- (a task may wait in here: compat.pcall, no for loop)
    local next_row = pager:each()
    local row = next_row()
    while row ~= nil do
      local id = row.group.workspace_id
      if type(id) ~= "string" then id = "default" end
      out[id] = decimal.tostring(decimal.add(out[id] or "0", row.cost.amount))
      row = next_row()
    end
  end)
  if not ok then return nil, read.context(err, "the cost analytics API") end
  return out
end

local function usd(cents, places)
  return reports.dollars(cents, places or 2)
end

--- The budget check of config workspace w (its live id, or nil when it does not exist yet).
function M.check(w, workspace_id, costs, now)
  local b = w.budget
  local spent = workspace_id and costs[workspace_id] or "0"
  local limit = decimal.shift(decimal.parse(b.monthly_usd), -2) -- dollars -> cents
  local first, next_first = time.month(now)
  local elapsed = math.max(now - first, 1)
  local spent_n, limit_n = tonumber(spent), tonumber(decimal.tostring(limit))
  local fraction = limit_n > 0 and spent_n / limit_n or (spent_n > 0 and math.huge or 0)
  local projected = spent_n * (next_first - first) / elapsed
  local crossed = {}
  for _, t in ipairs(b.warn_at) do
    if fraction >= t then crossed[#crossed + 1] = t end
  end
  local exceeded = decimal.compare(spent, limit) >= 0 and not (limit_n == 0 and spent_n == 0)
  local status = exceeded and "exceeded" or (#crossed > 0 and "warning") or "ok"
  local pct = fraction == math.huge and "inf" or string.format("%.1f", fraction * 100)
  local c = {
    kind = "budget", workspace = w.name, workspace_id = workspace_id,
    spent_cents = decimal.tostring(spent), spent_usd = usd(spent),
    budget_usd = usd(limit), percent = fraction == math.huge and -1 or tonumber(pct),
    projected_usd = usd(string.format("%.0f", projected)),
    projected_over = projected > limit_n,
    thresholds_crossed = crossed, status = status, on_exceed = b.on_exceed,
    month = time.format(first):sub(1, 7),
  }
  c.text = string.format("budget %s: $%s of $%s this month (%s%%), projected $%s by the end of the month%s",
    names.quote(w.name), c.spent_usd, c.budget_usd, pct, c.projected_usd,
    status == "exceeded" and " - EXCEEDED" or (status == "warning" and " - warning" or ""))
  if c.projected_over and status ~= "exceeded" then c.text = c.text .. " (projected over budget)" end
  c.reason = string.format("budget %s: %s%% of $%s this month", names.quote(w.name), pct, c.budget_usd)
  return c
end

return M
