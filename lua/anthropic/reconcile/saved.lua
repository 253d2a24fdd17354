--- Checking a saved plan (a decoded plan.json) against a new read of the organization before it is
-- carried out. The file may have been edited, so nothing it says about itself is trusted: not its
-- refusals, options, summary, symbols or irreversible flags. Every executable action must be one
-- the planner makes, aimed at an object of the read that the planner may touch, with `before`
-- values equal to the read; the safety rails (safety.lua) are then worked out again from what the
-- actions do, with the set sizes of the read and the operator's flags of now.
--   shape(doc) -> true | nil, message         the document's fields and format version
--   rails(doc, snap) -> derived plan | nil, message   (for safety.check)
-- A key deactivation or a workspace archive counts towards the mass-removal and empty rails when
-- the plan marks it as pruned, as a fresh plan does: without the file, a saved plan cannot show
-- which rule asked for it. Removing a user, a workspace member or an invite always counts: only
-- prune makes those. Archiving needs allow_archive whatever the plan says.
local compat = require "anthropic.compat"
local builder = require "anthropic.reconcile.builder"
local schema = require "anthropic.reconcile.schema"

local q = builder.q

local M = {}

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local ORG_ROLES, WORKSPACE_ROLES = set_of(schema.ORG_ROLES), set_of(schema.WORKSPACE_ROLES)
local KEY_STATUSES = set_of(schema.KEY_STATUSES)
local NOT_EXECUTABLE = set_of { "manual", "unmanaged", "waiting" }

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

--- The fields every plan file has, with the right types. -> true | nil, message
function M.shape(doc, supported_major)
  if type(doc) ~= "table" or type(doc.format_version) ~= "string" or type(doc.actions) ~= "table" then
    return nil, "not a plan file (no format_version or actions)"
  end
  if doc.format_version:match("^(%d+)") ~= supported_major then
    return nil, "plan format " .. doc.format_version .. " is not supported"
  end
  local fields = {
    { "organization", type(doc.organization) == "table" and type(doc.organization.id) == "string" },
    { "fingerprint", type(doc.fingerprint) == "string" },
    { "actions", is_list(doc.actions) },
    { "summary", type(doc.summary) == "table" },
    { "checks", is_list(doc.checks) },
    { "warnings", is_list(doc.warnings) },
    { "refusals", doc.refusals == nil or is_list(doc.refusals) },
    { "read.members_of", doc.read == nil or (type(doc.read) == "table" and (doc.read.members_of == nil
      or is_list(doc.read.members_of))) },
  }
  for _, id in ipairs(doc.read and doc.read.members_of or {}) do
    if type(id) ~= "string" then fields[#fields + 1] = { "read.members_of", false } end
  end
  for _, f in ipairs(fields) do
    if not f[2] then return nil, "not a plan file: " .. f[1] .. " is missing or malformed" end
  end
  for i, a in ipairs(doc.actions) do
    if type(a) ~= "table" or type(a.address) ~= "string" or type(a.kind) ~= "string" or type(a.op) ~= "string"
        or type(a.symbol) ~= "string" or type(a.executable) ~= "boolean" then
      return nil, "not a plan file: action " .. i .. " lacks address, kind, op, symbol or executable"
    end
    for _, f in ipairs { "before", "after", "workspace" } do
      if a[f] ~= nil and type(a[f]) ~= "table" then
        return nil, "not a plan file: action " .. i .. ": " .. f .. " is not an object"
      end
    end
    if a.changes ~= nil then
      if not is_list(a.changes) then return nil, "not a plan file: action " .. i .. ": changes is not a list" end
      for _, c in ipairs(a.changes) do
        if type(c) ~= "table" then
          return nil, "not a plan file: action " .. i .. ": changes is not a list of objects"
        end
      end
    end
  end
  return true
end

---------------------------------------------------------------------------------------------------
-- What each executable action does, checked against the read.

-- The read, indexed for the checks.
local function index(snap, doc)
  local r = { users = {}, invites = {}, workspaces = {}, keys = {}, members = {}, role_after = {} }
  for _, u in ipairs(snap.users) do r.users[u.id] = u end
  for _, i in ipairs(snap.invites) do r.invites[i.id] = i end
  for _, w in ipairs(snap.workspaces) do r.workspaces[w.id] = w end
  for _, k in ipairs(snap.keys) do r.keys[k.id] = k end
  for id, list in pairs(snap.members) do
    r.members[id] = {}
    for _, m in ipairs(list) do r.members[id][m.user_id] = m end
  end
  for _, a in ipairs(doc.actions) do
    if a.kind == "user" and a.op == "update" and type(a.after) == "table" then r.role_after[a.id] = a.after.role end
  end
  return r
end

local function lower(s)
  return type(s) == "string" and s:lower() or nil
end

local function live_workspace(r, id)
  local ws = type(id) == "string" and r.workspaces[id]
  if not ws then return nil, "workspace " .. tostring(id) .. " is not in the organization" end
  if ws.archived_at then return nil, "workspace " .. q(ws.name) .. " is archived" end
  if builder.is_claude_code(ws) then return nil, "the Claude Code workspace is never touched" end
  return ws
end

local function reserved(name)
  if type(name) ~= "string" or name == "" then return "a workspace name is required" end
  local why = schema.RESERVED_WORKSPACES[name:lower()]
  if why then return q(name) .. ": " .. why end
end

-- A user the plan may change or remove (never an admin).
local function non_admin(r, id)
  local u = type(id) == "string" and r.users[id]
  if not u then return nil, "user " .. tostring(id) .. " is not in the organization" end
  if u.role == "admin" then return nil, (u.email or u.id) .. " is an organization admin, never changed" end
  return u
end

local function pending_invite(r, id)
  local inv = type(id) == "string" and r.invites[id]
  if not inv or inv.status ~= "pending" then return nil, "invite " .. tostring(id) .. " is not pending" end
  return inv
end

-- Whether the membership comes with the organization role (after this plan): never touched.
local function inherited(r, user, workspace_role)
  local role = r.role_after[user.id] or user.role
  return role == "admin" or (role == "billing" and workspace_role == "workspace_billing")
end

-- The membership of a member action: a live workspace whose members were read, and the member.
local function membership(r, a)
  local ws, err = live_workspace(r, type(a.workspace) == "table" and a.workspace.id or nil)
  if not ws then return nil, err end
  if not r.members[ws.id] then return nil, "the members of workspace " .. q(ws.name) .. " were not read" end
  local user = r.users[a.user_id]
  local m = r.members[ws.id][a.user_id]
  if not user or not m then return nil, tostring(a.user_id) .. " is not a member of workspace " .. q(ws.name) end
  if inherited(r, user, m.workspace_role) then
    return nil, (user.email or user.id) .. "'s membership is inherited from the organization role, never changed"
  end
  return ws, m
end

-- A `before` field that differs from the read: the plan was not made from this read.
local function before_differs(a, field, actual)
  local b = type(a.before) == "table" and a.before[field]
  if b ~= nil and b ~= actual then
    return string.format("before.%s is %s, but the organization has %s", field, q(b), q(actual))
  end
end

local function members_set(ws) return "members of workspace " .. q(ws.name) end
local function keys_set(ws_name) return "active keys in workspace " .. q(ws_name) end

-- kind.op -> { symbols, check(a, r, ctx) -> effect | nil, message }; effect: { irreversible,
-- removes = set name, adds = set name }.
local EFFECTS = {}

EFFECTS["invite.create"] = { symbols = "+", check = function(a)
  if type(a.after) ~= "table" or not lower(a.after.email) then return nil, "after.email is required" end
  if not ORG_ROLES[a.after.role] or a.after.role == "admin" then
    return nil, "after.role: not a role an invite can give"
  end
  return { adds = "pending invites" }
end }

EFFECTS["invite.reinvite"] = { symbols = "~", check = function(a, r)
  local inv, err = pending_invite(r, a.id)
  if not inv then return nil, err end
  if type(a.after) ~= "table" or lower(a.after.email) ~= lower(inv.email) then
    return nil, "after.email must be the e-mail of invite " .. a.id .. " (" .. tostring(inv.email) .. ")"
  end
  if not ORG_ROLES[a.after.role] or a.after.role == "admin" then
    return nil, "after.role: not a role an invite can give"
  end
  local differs = before_differs(a, "role", inv.role)
  if differs then return nil, differs end
  return {}
end }

EFFECTS["invite.delete"] = { symbols = "-", check = function(a, r)
  local inv, err = pending_invite(r, a.id)
  if not inv then return nil, err end
  return { removes = "pending invites" }
end }

EFFECTS["user.update"] = { symbols = "~", check = function(a, r)
  local u, err = non_admin(r, a.id)
  if not u then return nil, err end
  if type(a.after) ~= "table" or not ORG_ROLES[a.after.role] or a.after.role == "admin" then
    return nil, "after.role: not a role the API can give"
  end
  local differs = before_differs(a, "role", u.role)
  if differs then return nil, differs end
  return {}
end }

EFFECTS["user.remove"] = { symbols = "-", check = function(a, r)
  local u, err = non_admin(r, a.id)
  if not u then return nil, err end
  return { removes = "organization members" }
end }

EFFECTS["workspace.create"] = { symbols = "+", check = function(a)
  local bad = reserved(type(a.after) == "table" and a.after.name or nil)
  if bad then return nil, bad end
  return { adds = "workspaces" }
end }

EFFECTS["workspace.update"] = { symbols = "~", check = function(a, r)
  local ws, err = live_workspace(r, a.id)
  if not ws then return nil, err end
  if type(a.after) ~= "table" or (a.after.tags ~= nil and type(a.after.tags) ~= "table") then
    return nil, "after: a name or tags are required"
  end
  local bad = a.after.name ~= nil and reserved(a.after.name)
  if bad then return nil, bad end
  local differs = before_differs(a, "name", ws.name)
  if differs then return nil, differs end
  return {}
end }

EFFECTS["workspace_rate_limit.update"] = { symbols = "~", check = function(a, r, ctx)
  local ws = a.workspace
  if type(ws) ~= "table" then return nil, "workspace is required" end
  if ws.id ~= nil then
    local live, err = live_workspace(r, ws.id)
    if not live then return nil, err end
  elseif not (a.needs and ctx.creates[a.needs] == "workspace") then
    return nil, "workspace.id is required (or needs: a workspace this plan creates)"
  end
  local af = a.after
  if type(af) ~= "table" or type(af.rate_limit_id) ~= "string" or type(af.type) ~= "string"
    or (af.value ~= nil and (not compat.is_integer(af.value) or af.value < 0)) then
    return nil, "after: rate_limit_id, type and value (a whole number >= 0, or none to inherit) are required"
  end
  return {}
end }

EFFECTS["workspace.archive"] = { symbols = "!", check = function(a, r)
  local ws, err = live_workspace(r, a.id)
  if not ws then return nil, err end
  return { irreversible = true, removes = a.prune and "workspaces" or nil }
end }

EFFECTS["workspace_member.add"] = { symbols = "+", check = function(a, r, ctx)
  local ws_id = type(a.workspace) == "table" and a.workspace.id or nil
  local ws
  if ws_id then
    local err
    ws, err = live_workspace(r, ws_id)
    if not ws then return nil, err end
  elseif not (a.needs and ctx.creates[a.needs] == "workspace") then
    return nil, "no workspace id, and no workspace created before it in the plan (needs)"
  end
  local u, err = non_admin(r, a.user_id)
  if not u then return nil, err end
  if type(a.after) ~= "table" or not WORKSPACE_ROLES[a.after.workspace_role] then
    return nil, "after.workspace_role: not a workspace role"
  end
  return { adds = ws and members_set(ws) or nil }
end }

EFFECTS["workspace_member.update"] = { symbols = "~", check = function(a, r)
  local ws, m = membership(r, a)
  if not ws then return nil, m end
  if type(a.after) ~= "table" or not WORKSPACE_ROLES[a.after.workspace_role] then
    return nil, "after.workspace_role: not a workspace role"
  end
  local differs = before_differs(a, "workspace_role", m.workspace_role)
  if differs then return nil, differs end
  return {}
end }

EFFECTS["workspace_member.remove"] = { symbols = "-", check = function(a, r)
  local ws, m = membership(r, a)
  if not ws then return nil, m end
  return { removes = members_set(ws) }
end }

EFFECTS["api_key.update"] = { symbols = "~-!", check = function(a, r)
  local k = type(a.id) == "string" and r.keys[a.id]
  if not k then return nil, "key " .. tostring(a.id) .. " is not in the organization" end
  local ws = k.workspace_id and r.workspaces[k.workspace_id]
  if ws and builder.is_claude_code(ws) then return nil, "keys of the Claude Code workspace are never touched" end
  if type(a.workspace) == "table" and a.workspace.id ~= k.workspace_id then
    return nil, "key " .. k.id .. " is not in workspace " .. tostring(a.workspace.id)
  end
  local after = a.after
  if type(after) ~= "table" or (after.status == nil and after.name == nil) then
    return nil, "after: a status or a name is required"
  end
  if after.status ~= nil and not KEY_STATUSES[after.status] then return nil, "after.status: not a key status" end
  if after.name ~= nil and type(after.name) ~= "string" then return nil, "after.name: not a name" end
  local differs = before_differs(a, "status", k.status) or before_differs(a, "name", k.name)
  if differs then return nil, differs end
  if after.status ~= nil and after.status ~= k.status and not builder.usable(k) then
    return nil, "key " .. k.id .. " is " .. tostring(k.status) .. " (final)"
  end
  local set = keys_set(ws and ws.name or "default")
  local e = {}
  if after.status == "archived" and k.status ~= "archived" then e.irreversible = true end
  local off = k.status == "active" and after.status ~= nil and after.status ~= "active"
  if off and (a.prune or a.symbol == "-" or a.wave == "removals") then e.removes = set end
  if after.status == "active" and k.status ~= "active" then e.adds = set end
  local symbol = e.irreversible and "!" or (off and a.symbol == "-") and "-" or "~"
  if a.symbol ~= symbol then return nil, "symbol " .. a.symbol .. " does not match what it does (" .. symbol .. ")" end
  return e
end }

-- The managed sets of the read, by the names the rails use.
local function set_sizes(snap, r)
  local sizes = { ["organization members"] = 0, ["pending invites"] = 0, workspaces = 0 }
  for _, u in ipairs(snap.users) do
    if u.role ~= "admin" then sizes["organization members"] = sizes["organization members"] + 1 end
  end
  for _, i in ipairs(snap.invites) do
    if i.status == "pending" then sizes["pending invites"] = sizes["pending invites"] + 1 end
  end
  for _, ws in ipairs(snap.workspaces) do
    if not ws.archived_at and not builder.is_claude_code(ws) then sizes.workspaces = sizes.workspaces + 1 end
  end
  for id, list in pairs(snap.members) do
    local ws, n = r.workspaces[id], 0
    for _, m in ipairs(list) do
      local u = r.users[m.user_id]
      if u and not inherited(r, u, m.workspace_role) then n = n + 1 end
    end
    if ws then sizes[members_set(ws)] = n end
  end
  local active = {}
  for _, k in ipairs(snap.keys) do
    local ws = k.workspace_id and r.workspaces[k.workspace_id]
    local name = keys_set(ws and ws.name or "default")
    active[name] = (active[name] or 0) + (k.status == "active" and 1 or 0)
  end
  for name, n in pairs(active) do sizes[name] = n end
  return sizes
end

--- The plan the rails are checked on: every executable action with what it does, worked out from
-- the read. -> { actions, sets } | nil, message (an action the planner does not make, or one
-- that does not fit the read: the plan was edited)
function M.rails(doc, snap)
  local r = index(snap, doc)
  local ctx = { creates = {} }
  local actions = {}
  for i, a in ipairs(doc.actions) do
    local where = string.format("action %d (%s)", i, a.address)
    if a.symbol == "?" or not a.executable then
      if a.executable or a.symbol ~= "?" or not NOT_EXECUTABLE[a.op] then
        return nil, where .. ": only \"?\" actions (manual, unmanaged, waiting) are not executable"
      end
    else
      local spec = EFFECTS[a.kind .. "." .. a.op]
      if not spec then return nil, where .. ": the planner makes no " .. a.kind .. " " .. a.op .. " action" end
      if not spec.symbols:find(a.symbol, 1, true) then
        return nil, where .. ": symbol " .. a.symbol .. " does not match " .. a.kind .. " " .. a.op
      end
      local effect, err = spec.check(a, r, ctx)
      if not effect then return nil, where .. ": " .. err end
      if a.op == "create" then ctx.creates[a.address] = a.kind end
      actions[#actions + 1] = { address = a.address, irreversible = effect.irreversible, prune = effect.removes ~= nil,
        set = effect.removes, adds_to = effect.adds }
    end
  end
  return { actions = actions, sets = set_sizes(snap, r) }
end

return M
