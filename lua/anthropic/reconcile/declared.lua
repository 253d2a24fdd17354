--- The last check of a plan: no removal touches an object the file declares. The planners remove
-- only what they found undeclared, so on a consistent read this never fires; it is the backstop
-- for a read (or a planner bug) that makes a declared object look undeclared, such as a member
-- whose user is missing from the users list.
--   check(b) -> problems (texts; b: the builder after every wave, see builder.lua)
-- A removal of a declared object is allowed only where the file asks for it: `archived = true` on
-- that workspace. Key deactivations by a rule of the file (budget, rotation, status) are updates.
local builder = require "anthropic.reconcile.builder"

local q = builder.q

local M = {}

-- What the file declares, under the names removals carry: e-mails and user ids (member blocks and
-- workspace member lists), workspace ids and unpinned names (not archived), (workspace id, e-mail)
-- memberships, key ids and (workspace id, name) keys.
local function declared(b)
  local d = { emails = {}, user_ids = {}, workspace_ids = {}, workspace_names = {}, archive_ids = {},
              members = {}, key_ids = {}, key_names = {} }
  local function person(email)
    d.emails[email] = true
    local u = b.users[email]
    if u then d.user_ids[u.id] = true end
  end
  for _, m in ipairs(b.config.members) do person(m.email) end
  for _, w in ipairs(b.config.workspaces) do
    local live = b.matches[w] and b.matches[w].live
    for email in pairs(w.members or {}) do person(email) end
    if w.archived then
      if live then d.archive_ids[live.id] = true end
    else
      if w.id then d.workspace_ids[w.id] = true else d.workspace_names[w.name] = true end
      if live then d.workspace_ids[live.id] = true end
    end
    if live then
      for email in pairs(w.members or {}) do d.members[live.id .. "\0" .. email] = true end
      for _, entry in ipairs(w.keys or {}) do
        if entry.id then
          d.key_ids[entry.id] = true
        elseif entry.name then
          d.key_names[live.id .. "\0" .. entry.name] = true
        end
      end
    end
  end
  return d
end

local function lower(s)
  return type(s) == "string" and s:lower() or nil
end

-- Why removal `a` touches a declared object, or nil.
local function conflict(b, d, a, invites, workspaces)
  if a.kind == "user" then
    local u = b.users_by_id[a.id]
    local email = u and lower(u.email) or lower(a.email)
    if not u then return "its user " .. tostring(a.id) .. " is not in the users read" end
    if d.user_ids[a.id] or (email and d.emails[email]) then return "the file declares " .. email end
  elseif a.kind == "invite" then
    local inv = invites[a.id]
    local email = inv and lower(inv.email) or lower(a.email)
    if not email then return "invite " .. tostring(a.id) .. " has no e-mail address" end
    if d.emails[email] then return "the file declares " .. email end
  elseif a.kind == "workspace_member" then
    local ws = a.workspace and a.workspace.id
    local u = b.users_by_id[a.user_id]
    if not ws then return "its workspace id is not known" end
    if not u then return "user " .. tostring(a.user_id) .. " is not in the users read: cannot tell who it is" end
    local email = lower(u.email) or ""
    if d.members[ws .. "\0" .. email] then return "the file lists " .. email .. " in this workspace" end
  elseif a.kind == "workspace" then
    local ws = workspaces[a.id]
    if d.archive_ids[a.id] then return nil end
    if d.workspace_ids[a.id] then return "the file declares workspace " .. tostring(a.id) end
    if ws and d.workspace_names[ws.name] then return "the file declares workspace " .. q(ws.name) end
  elseif a.kind == "api_key" then
    local k = b.keys_by_id[a.id]
    if not k then return "key " .. tostring(a.id) .. " is not in the keys read" end
    if d.key_ids[k.id] then return "the file pins key " .. k.id end
    if d.key_names[tostring(k.workspace_id) .. "\0" .. tostring(k.name)] then
      return "the file declares key " .. q(k.name) .. " in this workspace"
    end
  end
end

-- Whether an action takes an object away: a removal, a withdrawal, an archive, or anything pruned.
local function removes(a)
  return a.prune or a.op == "remove" or a.op == "delete" or a.op == "archive"
end

function M.check(b)
  local d = declared(b)
  local invites, workspaces = {}, {}
  for _, inv in ipairs(b.snap.invites) do invites[inv.id] = inv end
  for _, ws in ipairs(b.snap.workspaces) do workspaces[ws.id] = ws end
  local problems = {}
  for _, a in ipairs(b.actions) do
    if a.executable and removes(a) then
      local why = conflict(b, d, a, invites, workspaces)
      if why then problems[#problems + 1] = a.address .. " (" .. a.kind .. " " .. a.op .. "): " .. why end
    end
  end
  return problems
end

return M
