--- Writes an organization file from a snapshot of the live organization (read.lua, with the
-- members of every live workspace), so that an existing organization can be adopted: planning the
-- file against the same organization shows no changes. Budgets and rotation rules have no API
-- counterpart and are left to the reader; prune is written commented out.
-- A name an organization file may not use (anthropic.names.check: a control character, a
-- bidirectional control, a leading or trailing space, ...) is written escaped, in a block or
-- line that is commented out, under a WARNING comment; each is also a warning returned.
--   text(snap, opts) -> DSL text, warnings (list of texts); opts.now (for the header)
local rate_limits = require "anthropic.reconcile.rate_limits"
local names = require "anthropic.names"
local plan = require "anthropic.reconcile.plan"
local schema = require "anthropic.reconcile.schema"
local time = require "anthropic.reconcile.time"

local M = {}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat return then true
  until while]]):gmatch("%a+") do KEYWORDS[w] = true end

-- A Lua string for s: escaped where it could mislead (names.quote), always on one line.
local function q(s)
  return names.quote(s)
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
  local out, warnings = {}, {}
  local function say(s) out[#out + 1] = s end
  -- Lines for an object whose name (or e-mail) is refused by organization files: commented out.
  local function refused(what, why, lines, fix)
    local text = what .. ": " .. why .. "; left out (commented) so that the file loads: " .. fix
    warnings[#warnings + 1] = text
    say("-- WARNING: " .. text)
    for _, l in ipairs(lines) do say("-- " .. l) end
  end
  local function email_problem(email)
    return names.check(email)
  end
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
    local why = email_problem(email)
    if why then
      refused("member " .. q(email) .. " (" .. tostring(u.id) .. ")", "its e-mail address " .. why, { line },
        "nothing to do here unless the user is to be managed")
    else
      if not SETTABLE[u.role] then
        line = "-- " .. line .. "  -- this role is not managed here"
      elseif u.role == "admin" then
        line = line .. "  -- admins are never changed through the API"
      end
      say(line)
    end
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
    local why = email_problem(inv.email:lower())
    if why then
      refused("invite " .. q(inv.email:lower()) .. " (" .. tostring(inv.id) .. ")", "its e-mail address " .. why,
        { line }, "nothing to do here unless the invite is to be managed")
    else
      if not SETTABLE[inv.role] then line = "-- " .. line end
      say(line)
    end
  end
  for _, ws in ipairs(M.workspaces(snap)) do
    say("")
    local block = {}
    local function line(s) block[#block + 1] = s end
    local saved_say = say
    say = line
    say(string.format("workspace %s {", q(ws.name)))
    say(string.format("  id = %s,", q(ws.id)))
    if ws.tags and next(ws.tags) then
      local parts, bad = {}, nil
      for _, k in ipairs(sorted_keys(ws.tags)) do
        parts[#parts + 1] = key(k) .. " = " .. q(ws.tags[k])
        bad = bad or (names.check(k) and ("tag " .. q(k) .. " " .. names.check(k)))
          or (type(ws.tags[k]) == "string" and names.check(ws.tags[k])
            and ("the value of tag " .. q(k) .. " " .. names.check(ws.tags[k])))
      end
      if bad then
        local text = "workspace " .. q(ws.name) .. " (" .. ws.id .. "): " .. bad
          .. "; its tags are left out (commented), so this file does not manage them: fix the tag and uncomment"
        warnings[#warnings + 1] = text
        say("  -- WARNING: " .. text)
        say("  -- tags = { " .. table.concat(parts, ", ") .. " },")
      else
        say("  tags = { " .. table.concat(parts, ", ") .. " },")
      end
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
      local kline
      if count[k.name] == 1 then
        kline = string.format("    [%s] = %s,", q(k.name), q(k.status))
      else
        kline = string.format("    { id = %s, name = %s, status = %s },", q(k.id), q(k.name), q(k.status))
      end
      local why = names.check(k.name)
      if why then
        local text = "key " .. q(k.name) .. " (" .. k.id .. ") in workspace " .. q(ws.name) .. ": its name " .. why
          .. "; left out (commented), so this file does not manage it: rename it (anthropic keys update "
          .. k.id .. " --name NAME) and uncomment"
        warnings[#warnings + 1] = text
        say("    -- WARNING: " .. text)
        say("    --" .. kline:sub(3))
      else
        say(kline)
      end
    end
    say("  },")
    local rl = snap.rate_limits
    local lines = rl and rate_limits.export_lines(rl.entries[ws.id], rl.groups)
    if lines then
      say("  rate_limits = {")
      for _, l in ipairs(lines) do say(l) end
      say("  },")
    end
    say("}")
    say = saved_say
    local why = names.check(ws.name)
    if why then
      refused("workspace " .. q(ws.name) .. " (" .. ws.id .. ")", "its name " .. why, block,
        "rename it (anthropic workspaces update " .. ws.id .. " --name NAME) and uncomment")
    else
      for _, l in ipairs(block) do say(l) end
    end
  end
  say("")
  say("-- Nothing is removed unless asked, kind by kind:")
  say("-- prune { members = true, invites = true, workspace_members = true, keys = true }")
  return table.concat(out, "\n") .. "\n", warnings
end

return M
