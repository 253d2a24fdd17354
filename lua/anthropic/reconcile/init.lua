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
local rate_limits = require "anthropic.reconcile.rate_limits"
local read = require "anthropic.reconcile.read"
local render = require "anthropic.reconcile.render"
local rotation = require "anthropic.reconcile.rotation"
local safety = require "anthropic.reconcile.safety"
local saved = require "anthropic.reconcile.saved"

local M = {}

M.load_file = dsl.load_file
M.load_string = dsl.load_string
M.render = render
M.FORMAT_VERSION = planner.FORMAT_VERSION

local function config_error(msg)
  return errors.new { kind = "config", message = msg }
end

local function refused(refusals)
  local msgs = {}
  for i, r in ipairs(refusals) do msgs[i] = r.message end
  return config_error("the plan is refused: " .. table.concat(msgs, "; "))
end

-- Plans execute carries out: those M.plan made, and saved plans that passed M.check_saved.
local runnable = setmetatable({}, { __mode = "k" })

-- The reports a config needs: the month's cost per workspace (budgets), usage per key (idle_days),
-- the rate limits of the organization and of the workspaces that declare them.
local function read_reports(admin, config, now, matches)
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
  reports.rate_limits, err = rate_limits.read(admin, config, matches)
  if reports.rate_limits == nil then return nil, err end
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
  reports, err = read_reports(admin, config, now, matches)
  if not reports then return nil, err end
  local p
  p, err = planner.build(config, snap, matches, reports, {
    now = now, allow_archive = opts.allow_archive, allow_mass_removal = opts.allow_mass_removal,
    allow_empty = opts.allow_empty,
  })
  if not p then return nil, err end
  p.fingerprint = read.fingerprint(snap)
  runnable[p] = true
  return p
end

--- Carries out a plan (from M.plan, or a decoded plan.json that passed M.check_saved).
-- -> result | nil, err (refused) ; result: { done, failed, skipped } (see apply.lua)
function M.execute(admin, plan, opts)
  if not runnable[plan] then
    return nil, config_error("a saved plan is carried out only after reconcile.check_saved(admin, plan, opts) "
      .. "has checked it against the organization")
  end
  if plan.refusals and #plan.refusals > 0 then return nil, refused(plan.refusals) end
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

--- Checks that a saved plan (decoded plan.json) may be carried out now, with the options opts
-- (allow_archive, allow_mass_removal, allow_empty: the flags of now, not those the plan was made
-- with). Nothing the file says about itself is trusted (see saved.lua): its format; its
-- organization; that the organization has not changed since (the fingerprint of a new read of
-- the same things); that it was not refused when made; that every action fits that read and its
-- summary its actions; and the safety rails, worked out again from the actions. -> true | nil, err
function M.check_saved(admin, doc, opts)
  local major = M.FORMAT_VERSION:match("^(%d+)")
  local ok, msg = saved.shape(doc, major)
  if not ok then
    if msg:match("is not supported$") then msg = msg .. " (this version writes " .. M.FORMAT_VERSION .. ")" end
    return nil, config_error(msg)
  end
  local snap, err = read.snapshot(admin, doc.read and doc.read.members_of or {})
  if not snap then return nil, err end
  if doc.organization.id ~= snap.org.id then
    return nil, config_error(string.format("the plan is for organization %s, but the admin key belongs to %s",
      tostring(doc.organization.id), tostring(snap.org.id)))
  end
  if read.fingerprint(snap) ~= doc.fingerprint then
    return nil, config_error("the plan is stale: the organization changed since it was made; plan again")
  end
  if doc.refusals and #doc.refusals > 0 then
    local msgs = {}
    for i, r in ipairs(doc.refusals) do msgs[i] = type(r) == "table" and tostring(r.message) or tostring(r) end
    return nil, config_error("the plan was refused when it was made (" .. table.concat(msgs, "; ")
      .. "); plan again with the flags it needs")
  end
  local derived
  derived, msg = saved.rails(doc, snap)
  if not derived then
    return nil, config_error("the plan does not fit the organization it was made from: " .. msg
      .. "; it was edited or damaged: plan again")
  end
  local summary = planner.summarize(doc.actions)
  for k, v in pairs(summary) do
    if doc.summary[k] ~= v then
      return nil, config_error(string.format("the plan's summary does not match its actions (%s: %s in the "
        .. "summary, %d in the actions); it was edited or damaged: plan again", k, tostring(doc.summary[k]), v))
    end
  end
  local refusals = safety.check(derived, opts)
  if #refusals > 0 then return nil, refused(refusals) end
  runnable[doc] = true
  return true
end

--- An organization file for the live organization. -> text | nil, err. opts.warnings, a list if
-- given, gets a text for each object whose name an organization file may not use (written
-- escaped and commented out; see export.lua); opts.now for the header.
function M.export(admin, opts)
  local snap, err = read.base(admin)
  if not snap then return nil, err end
  local ids = {}
  for _, ws in ipairs(export.workspaces(snap)) do ids[#ids + 1] = ws.id end
  snap, err = read.members(admin, snap, ids)
  if not snap then return nil, err end
  snap.rate_limits, err = rate_limits.read_all(admin, ids)
  if not snap.rate_limits then return nil, err end
  local text, warnings = export.text(snap, opts)
  if opts and opts.warnings then
    for _, w in ipairs(warnings) do opts.warnings[#opts.warnings + 1] = w end
  end
  return text
end

return M
