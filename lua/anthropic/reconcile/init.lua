--- Declarative organization: an organization file (org.lua) says what the organization should
-- look like; plan shows the difference with the live organization, apply makes it so. No state
-- file: every run reads the organization again. See docs/reconcile.md.
--
--   local reconcile = require "anthropic.reconcile"
--   local config = assert(reconcile.load_file("org.lua"))
--   local plan = assert(reconcile.plan(admin, config))      -- admin = anthropic.admin()
--   io.write(reconcile.render.human(plan))
--   local result = reconcile.apply(admin, config, { allow_archive = false })
--
-- Options (plan, apply): now (Unix seconds; default os.time()), allow_archive,
-- allow_mass_removal, allow_empty; apply also takes on_action (see apply.lua).
local apply = require "anthropic.reconcile.apply"
local budget = require "anthropic.reconcile.budget"
local dsl = require "anthropic.reconcile.dsl"
local errors = require "anthropic.error"
local export = require "anthropic.reconcile.export"
local planner = require "anthropic.reconcile.plan"
local read = require "anthropic.reconcile.read"
local render = require "anthropic.reconcile.render"
local rotation = require "anthropic.reconcile.rotation"

local M = {}

M.load_file = dsl.load_file
M.load_string = dsl.load_string
M.render = render
M.FORMAT_VERSION = planner.FORMAT_VERSION

local function config_error(msg)
  return errors.new { kind = "config", message = msg }
end

-- The reports a config needs: the month's cost per workspace (budgets), usage per key (idle_days).
local function read_reports(admin, config, now)
  local reports, max_idle, budgets = {}, 0, false
  for _, w in ipairs(config.workspaces) do
    if w.budget then budgets = true end
    for _, k in ipairs(w.keys or {}) do max_idle = math.max(max_idle, k.idle_days or 0) end
  end
  local err
  if budgets then
    reports.costs, err = budget.read(admin, now)
    if not reports.costs then return nil, err end
  end
  if max_idle > 0 then
    reports.usage, err = rotation.read_usage(admin, now, max_idle)
    if not reports.usage then return nil, err end
  end
  return reports
end

--- Reads the organization and plans. -> plan | nil, err (a read error or a problem in the file
-- that only the live organization shows, such as an ambiguous name). A plan that breaks a
-- safety rail is returned with plan.refusals set.
function M.plan(admin, config, opts)
  opts = opts or {}
  local now = opts.now or os.time()
  local snap, err = read.base(admin)
  if not snap then return nil, err end
  local matches
  matches, err = planner.match_workspaces(config, snap)
  if not matches then return nil, err end
  snap, err = read.members(admin, snap, planner.member_scope(config, matches))
  if not snap then return nil, err end
  local reports
  reports, err = read_reports(admin, config, now)
  if not reports then return nil, err end
  local p
  p, err = planner.build(config, snap, matches, reports, {
    now = now, allow_archive = opts.allow_archive, allow_mass_removal = opts.allow_mass_removal,
    allow_empty = opts.allow_empty,
  })
  if not p then return nil, err end
  p.fingerprint = read.fingerprint(snap)
  return p
end

--- Carries out a plan (from M.plan or a decoded plan.json). -> result | nil, err (refused)
-- result: { done, failed, skipped } (see apply.lua)
function M.execute(admin, plan, opts)
  if plan.refusals and #plan.refusals > 0 then
    local msgs = {}
    for i, r in ipairs(plan.refusals) do msgs[i] = r.message end
    return nil, config_error("the plan is refused: " .. table.concat(msgs, "; "))
  end
  return apply.run(admin, plan, opts)
end

--- Plans, applies, and plans again to see whether the organization now matches the file.
-- -> result { done, failed, skipped, plan, after (the plan made afterwards), converged } | nil, err
function M.apply(admin, config, opts)
  local p, err = M.plan(admin, config, opts)
  if not p then return nil, err end
  local result
  result, err = M.execute(admin, p, opts)
  if not result then return nil, err end
  return M.verify(admin, config, result, p, opts)
end

--- After an apply: plans again; converged when nothing is left to do and nothing failed.
function M.verify(admin, config, result, plan, opts)
  result.plan = plan
  local after, err = M.plan(admin, config, opts)
  if not after then return nil, err end
  result.after = after
  result.converged = #result.failed == 0 and #result.skipped == 0 and after.summary.changes == 0
  return result
end

--- Checks that a saved plan (decoded plan.json) may still be applied: its format, its
-- organization, and that the organization has not changed since (the fingerprint of a new read
-- of the same things). -> true | nil, err
function M.check_saved(admin, doc)
  if type(doc) ~= "table" or type(doc.format_version) ~= "string" or type(doc.actions) ~= "table" then
    return nil, config_error("not a plan file (no format_version or actions)")
  end
  local major = doc.format_version:match("^(%d+)")
  if major ~= M.FORMAT_VERSION:match("^(%d+)") then
    return nil, config_error("plan format " .. doc.format_version .. " is not supported (this version writes "
      .. M.FORMAT_VERSION .. ")")
  end
  local snap, err = read.snapshot(admin, doc.read and doc.read.members_of or {})
  if not snap then return nil, err end
  if doc.organization and doc.organization.id ~= snap.org.id then
    return nil, config_error(string.format("the plan is for organization %s, but the admin key belongs to %s",
      tostring(doc.organization.id), tostring(snap.org.id)))
  end
  if read.fingerprint(snap) ~= doc.fingerprint then
    return nil, config_error("the plan is stale: the organization changed since it was made; plan again")
  end
  return true
end

--- An organization file for the live organization. -> text | nil, err
function M.export(admin, opts)
  local snap, err = read.base(admin)
  if not snap then return nil, err end
  local ids = {}
  for _, ws in ipairs(export.workspaces(snap)) do ids[#ids + 1] = ws.id end
  snap, err = read.members(admin, snap, ids)
  if not snap then return nil, err end
  return export.text(snap, opts)
end

return M
