--- The plan: what would make the live organization (a snapshot from read.lua) match the file (a
-- config from dsl.lua). Stateless: objects are matched by natural keys (workspace name or pinned
-- id, lower-cased e-mail, key id or key name within its workspace), only what the file mentions
-- is compared, archived objects never match, and the default workspace, the Claude Code workspace
-- and organization admins are never touched. A pending invite satisfies a member as well as a user.
--
-- An action: { wave, symbol, kind, op, address, id?, workspace = {name, id}?, email?, user_id?,
--   before?, after?, changes = {{field, before, after}}?, reason, irreversible?, executable,
--   prune?, set?, needs? }
-- symbols: "+" create, "~" update, "-" remove, "!" irreversible (archive), "?" what this tool
-- does not do (the API cannot, or the object is not managed). Waves: organization, workspaces,
-- members, keys, then removals (keys, workspace members, users, invites, workspaces).
local builder = require "anthropic.reconcile.builder"
local declared = require "anthropic.reconcile.declared"
local safety = require "anthropic.reconcile.safety"
local time = require "anthropic.reconcile.time"
local errors = require "anthropic.error"
require "anthropic.reconcile.people"
require "anthropic.reconcile.workspaces"
require "anthropic.reconcile.keys"
require "anthropic.reconcile.rate_limits"

local M = {}

M.FORMAT_VERSION = "1.0"
M.WAVES = { "organization", "workspaces", "members", "keys", "removals" }
M.is_claude_code = builder.is_claude_code
local WAVE_INDEX = {}
for i, w in ipairs(M.WAVES) do WAVE_INDEX[w] = i end
local REMOVAL_ORDER = { api_key = 1, workspace_member = 2, user = 3, invite = 4, workspace = 5 }
local q = builder.q

local function plan_error(messages)
  return errors.new { kind = "config", message = table.concat(messages, "\n") }
end

---------------------------------------------------------------------------------------------------
-- Matching workspaces

--- Which live workspace each config workspace is. -> { [w] = { live = ws | nil, archived = ws | nil } }
-- | nil, err (an unknown pinned id, two live workspaces with one name, two entries for one workspace)
function M.match_workspaces(config, snap)
  local by_id, live_by_name, archived_by_name = {}, {}, {}
  for _, ws in ipairs(snap.workspaces) do
    by_id[ws.id] = ws
    if ws.archived_at then
      local prev = archived_by_name[ws.name]
      if not prev or ws.archived_at > prev.archived_at then archived_by_name[ws.name] = ws end
    else
      live_by_name[ws.name] = live_by_name[ws.name] or {}
      table.insert(live_by_name[ws.name], ws)
    end
  end
  local matches, taken, problems = {}, {}, {}
  local where = function(w) return string.format("%s:%d: workspace %s", config.source, w.line, q(w.name)) end
  for _, w in ipairs(config.workspaces) do
    local m = {}
    if w.id then
      local ws = by_id[w.id]
      if not ws then
        problems[#problems + 1] = where(w) .. ": id " .. w.id .. " does not exist in this organization"
      elseif ws.archived_at then
        m.archived = ws
      else
        m.live = ws
      end
    else
      local live = live_by_name[w.name] or {}
      if #live > 1 then
        local ids = {}
        for i, ws in ipairs(live) do ids[i] = ws.id end
        problems[#problems + 1] = where(w) .. ": ambiguous: " .. #live .. " live workspaces have this name ("
          .. table.concat(ids, ", ") .. "); pin one with id = \"...\""
      end
      m.live = live[1]
      if not m.live then m.archived = archived_by_name[w.name] end
    end
    if m.live and M.is_claude_code(m.live) then
      problems[#problems + 1] = where(w) .. ": pins the Claude Code workspace, which is never touched"
      m.live = nil
    end
    if m.live then
      if taken[m.live.id] then
        problems[#problems + 1] = where(w) .. ": the same workspace as line " .. taken[m.live.id].line
      end
      taken[m.live.id] = w
    end
    matches[w] = m
  end
  if #problems > 0 then return nil, plan_error(problems) end
  return matches
end

--- The live workspaces whose members the plan needs (config workspaces that list members).
function M.member_scope(config, matches)
  local ids = {}
  for _, w in ipairs(config.workspaces) do
    local m = matches[w]
    if w.members and m.live then ids[#ids + 1] = m.live.id end
  end
  return ids
end

local function sort_actions(actions)
  table.sort(actions, function(a, b)
    local wa, wb = WAVE_INDEX[a.wave], WAVE_INDEX[b.wave]
    if wa ~= wb then return wa < wb end
    if a.wave == "removals" and a.kind ~= b.kind then return REMOVAL_ORDER[a.kind] < REMOVAL_ORDER[b.kind] end
    if a.executable ~= b.executable then return a.executable end -- changes first, then "?"
    return a.order < b.order
  end)
  for _, a in ipairs(actions) do a.order = nil end
end

--- Counts per symbol and the summary line.
function M.summarize(actions)
  local s = { add = 0, change = 0, remove = 0, archive = 0, unmanaged = 0, manual = 0 }
  for _, a in ipairs(actions) do
    if a.symbol == "+" then s.add = s.add + 1
    elseif a.symbol == "~" then s.change = s.change + 1
    elseif a.symbol == "-" then s.remove = s.remove + 1
    elseif a.symbol == "!" then s.archive = s.archive + 1
    elseif a.op == "unmanaged" then s.unmanaged = s.unmanaged + 1
    else s.manual = s.manual + 1 end
  end
  s.changes = s.add + s.change + s.remove + s.archive
  return s
end

--- Builds the plan from a config, a snapshot (with the members of member_scope), reports and
-- options { now, allow_archive, allow_mass_removal, allow_empty }. -> plan | nil, err
-- reports: { costs = from budget.read (when the file has budgets), usage = from
-- rotation.read_usage (when it has idle_days) }.
function M.build(config, snap, matches, reports, opts)
  opts = opts or {}
  local b = builder.new(config, snap, matches, reports, opts.now or os.time())
  b:organization()
  b:workspaces()
  b:members()
  b:keys()
  b:rate_limits()
  if #b.problems > 0 then return nil, plan_error(b.problems) end
  local conflicts = declared.check(b)
  if #conflicts > 0 then
    return nil, errors.new { kind = "decode", retryable = true, message = "refusing to plan: "
      .. table.concat(conflicts, "; ") .. ". The file declares what this plan would remove: the read of the "
      .. "organization was inconsistent (or this is a bug); nothing was planned. Try again" }
  end
  sort_actions(b.actions)
  local plan = {
    format_version = M.FORMAT_VERSION,
    organization = { id = snap.org.id, name = snap.org.name },
    source = config.source,
    created_at = time.format(b.now),
    actions = b.actions, warnings = b.warnings, checks = b.checks, sets = b.sets,
    options = { allow_archive = opts.allow_archive or false, allow_mass_removal = opts.allow_mass_removal or false,
                allow_empty = opts.allow_empty or false },
    read = { members_of = snap.members_of },
  }
  plan.summary = M.summarize(plan.actions)
  plan.refusals = safety.check(plan, opts)
  return plan
end

return M
