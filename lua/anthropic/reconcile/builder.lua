--- The plan builder: the state every kind of object is planned with, and what they share.
-- people.lua, workspaces.lua and keys.lua add the methods that plan each kind; plan.lua makes
-- the builder, runs them in wave order and sorts the actions.
local names = require "anthropic.names"

local M = {}

M.CLAUDE_CODE = "claude code"

-- A name in double quotes for addresses and messages: what could mislead is escaped (names.quote).
function M.q(s)
  return names.quote(tostring(s))
end
local q = M.q

--- true for the Claude Code workspace (by name), which is never touched.
function M.is_claude_code(w)
  return type(w.name) == "string" and w.name:lower() == M.CLAUDE_CODE
end

local Builder = {}
M.Builder = Builder
Builder.__index = Builder

function Builder:add(a)
  a.executable = a.symbol ~= "?"
  a.order = #self.actions + 1
  self.actions[#self.actions + 1] = a
  return a
end

function Builder:warn(text)
  self.warnings[#self.warnings + 1] = text
end

function Builder:problem(text)
  self.problems[#self.problems + 1] = text
end

-- A managed set's size, for the mass-removal rail.
function Builder:set(name, size)
  self.sets[name] = size
  return name
end

function M.member_address(email)
  return "member " .. q(email)
end

function M.workspace_address(name)
  return "workspace " .. q(name)
end

-- A copy of a list of users or invites, sorted by e-mail (stable output).
function M.by_email(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x end
  table.sort(out, function(a, b)
    local ea, eb = (a.email or ""):lower(), (b.email or ""):lower()
    return ea < eb or (ea == eb and a.id < b.id)
  end)
  return out
end

-- The workspace reference an action carries: the live id, or the create it waits for.
function M.ws_ref(w, m)
  return { name = w.name, id = m.live and m.live.id or nil }
end

-- An existing key: its name and id (names are free text and may repeat).
function M.key_address(w, k)
  return M.workspace_address(w.name) .. " key " .. q(k.name) .. " (" .. k.id .. ")"
end

function M.newest_first(list)
  table.sort(list, function(a, b)
    if a.created_at ~= b.created_at then return (a.created_at or "") > (b.created_at or "") end
    return a.id > b.id
  end)
  return list
end

function M.usable(k)
  return k.status ~= "archived" and k.status ~= "expired"
end


--- A builder for config and snap (see plan.build).
function M.new(config, snap, matches, reports, now)
  local b = setmetatable({
    config = config, snap = snap, matches = matches, now = now,
    costs = reports and reports.costs, usage = reports and reports.usage,
    reports = reports or {},
    actions = {}, warnings = {}, checks = {}, problems = {}, sets = {},
    users = {}, users_by_id = {}, invites = {}, keys_by_id = {}, matched_ids = {}, declared_members = {},
    role_after = {}, -- user id -> the organization role this plan gives
    non_admins = 0, pending = 0,
  }, Builder)
  for _, u in ipairs(snap.users) do
    b.users[(u.email or ""):lower()] = u
    b.users_by_id[u.id] = u
    if u.role ~= "admin" then b.non_admins = b.non_admins + 1 end
  end
  for _, inv in ipairs(snap.invites) do
    local email = (inv.email or ""):lower()
    if inv.status == "pending" then
      b.pending = b.pending + 1
      local prev = b.invites[email]
      if not prev or (inv.invited_at or "") > (prev.invited_at or "") then b.invites[email] = inv end
    end
  end
  for _, k in ipairs(snap.keys) do b.keys_by_id[k.id] = k end
  for _, m in ipairs(config.members) do b.declared_members[m.email] = m end
  for _, w in ipairs(config.workspaces) do
    local m = matches[w]
    if m.live then b.matched_ids[m.live.id] = true end
  end
  return b
end

return M
