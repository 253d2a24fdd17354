--- Writes an organization file from a snapshot of the live organization (read.lua, with the
-- members of every live workspace), so that an existing organization can be adopted: planning the
-- file against the same organization shows no changes. Budgets and rotation rules have no API
-- counterpart and are left to the reader; prune is written commented out.
--   text(snap, opts) -> DSL text; opts.now (for the header)
local plan = require "anthropic.reconcile.plan"
local schema = require "anthropic.reconcile.schema"
local time = require "anthropic.reconcile.time"

local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat return then true
  until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function q(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

local function key(k)
  if k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  return "[" .. q(k) .. "]"
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local SETTABLE = {}
for _, r in ipairs(schema.ORG_ROLES) do SETTABLE[r] = true end

--- The workspaces export writes (live ones, but not the Claude Code workspace), oldest first.
function M.workspaces(snap)
  local list = {}
  for _, ws in ipairs(snap.workspaces) do
    if not ws.archived_at and not plan.is_claude_code(ws) then list[#list + 1] = ws end
  end
  table.sort(list, function(a, b)
    if a.created_at ~= b.created_at then return (a.created_at or "") < (b.created_at or "") end
    return a.id < b.id
  end)
  return list
end

function M.text(snap, opts)
  opts = opts or {}
  local out = {}
  local function say(s) out[#out + 1] = s end
  say(string.format("-- Organization %s, exported by `anthropic export` on %s.", q(snap.org.name or ""),
    time.format(opts.now or os.time())))
  say("-- Planning this file against the same organization shows no changes. See docs/reconcile.md.")
  say(string.format("organization { id = %s, name = %s }", q(snap.org.id), q(snap.org.name or "")))
  say("")
  local users_by_id, emails = {}, {}
  local users = {}
  for _, u in ipairs(snap.users) do
    users_by_id[u.id] = u
    users[#users + 1] = u
  end
  table.sort(users, function(a, b) return a.email:lower() < b.email:lower() end)
  for _, u in ipairs(users) do
    local email = u.email:lower()
    emails[email] = true
    local line = string.format("member %s { role = %s }", q(email), q(u.role))
    if not SETTABLE[u.role] then
      line = "-- " .. line .. "  -- this role is not managed here"
    elseif u.role == "admin" then
      line = line .. "  -- admins are never changed through the API"
    end
    say(line)
  end
  local invites = {}
  for _, inv in ipairs(snap.invites) do
    local email = (inv.email or ""):lower()
    if inv.status == "pending" and not emails[email] then
      emails[email] = true
      invites[#invites + 1] = inv
    end
  end
  table.sort(invites, function(a, b) return a.email:lower() < b.email:lower() end)
  for _, inv in ipairs(invites) do
    local line = string.format("member %s { role = %s }  -- invite pending", q(inv.email:lower()), q(inv.role))
    if not SETTABLE[inv.role] then line = "-- " .. line end
    say(line)
  end
  for _, ws in ipairs(M.workspaces(snap)) do
    say("")
    say(string.format("workspace %s {", q(ws.name)))
    say(string.format("  id = %s,", q(ws.id)))
    if ws.tags and next(ws.tags) then
      local parts = {}
      for _, k in ipairs(sorted_keys(ws.tags)) do parts[#parts + 1] = key(k) .. " = " .. q(ws.tags[k]) end
      say("  tags = { " .. table.concat(parts, ", ") .. " },")
    end
    local members = {}
    for _, m in ipairs(snap.members[ws.id] or {}) do
      local u = users_by_id[m.user_id]
      local inherited = u and (u.role == "admin" or (u.role == "billing" and m.workspace_role == "workspace_billing"))
      if u and not inherited then members[#members + 1] = { u.email:lower(), m.workspace_role } end
    end
    table.sort(members, function(a, b) return a[1] < b[1] end)
    say("  members = {")
    for _, m in ipairs(members) do say(string.format("    [%s] = %s,", q(m[1]), q(m[2]))) end
    say("  },")
    local keys, count = {}, {}
    for _, k in ipairs(snap.keys) do
      if k.workspace_id == ws.id and (k.status == "active" or k.status == "inactive") then
        keys[#keys + 1] = k
        count[k.name] = (count[k.name] or 0) + 1
      end
    end
    table.sort(keys, function(a, b)
      if a.name ~= b.name then return a.name < b.name end
      return a.id < b.id
    end)
    say("  keys = {")
    for _, k in ipairs(keys) do
      if count[k.name] == 1 then
        say(string.format("    [%s] = %s,", q(k.name), q(k.status)))
      else
        say(string.format("    { id = %s, name = %s, status = %s },", q(k.id), q(k.name), q(k.status)))
      end
    end
    say("  },")
    say("}")
  end
  say("")
  say("-- Nothing is removed unless asked, kind by kind:")
  say("-- prune { members = true, invites = true, workspace_members = true, keys = true }")
  return table.concat(out, "\n") .. "\n"
end

return M
