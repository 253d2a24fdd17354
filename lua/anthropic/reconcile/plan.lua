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
local budget = require "anthropic.reconcile.budget"
local rotation = require "anthropic.reconcile.rotation"
local safety = require "anthropic.reconcile.safety"
local time = require "anthropic.reconcile.time"
local errors = require "anthropic.error"

local M = {}

M.FORMAT_VERSION = "1.0"
M.WAVES = { "organization", "workspaces", "members", "keys", "removals" }
M.CLAUDE_CODE = "claude code"
local WAVE_INDEX = {}
for i, w in ipairs(M.WAVES) do WAVE_INDEX[w] = i end
local REMOVAL_ORDER = { api_key = 1, workspace_member = 2, user = 3, invite = 4, workspace = 5 }

local function q(s)
  return string.format("%q", tostring(s))
end

function M.is_claude_code(w)
  return type(w.name) == "string" and w.name:lower() == M.CLAUDE_CODE
end

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

---------------------------------------------------------------------------------------------------
-- Building the actions

local Builder = {}
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

local function member_address(email)
  return "member " .. q(email)
end

local function workspace_address(name)
  return "workspace " .. q(name)
end

-- A copy of a list of users or invites, sorted by e-mail (stable output).
local function by_email(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x end
  table.sort(out, function(a, b)
    local ea, eb = (a.email or ""):lower(), (b.email or ""):lower()
    return ea < eb or (ea == eb and a.id < b.id)
  end)
  return out
end

-- One member block: an existing user (role compared), a pending invite (it satisfies the member;
-- a different role means sending it again), or an invite to send.
function Builder:member(m)
  local user, invite = self.users[m.email], self.invites[m.email]
  local address = member_address(m.email)
  local function add(t)
    t.wave, t.address = "organization", address
    return self:add(t)
  end
  if user then
    if user.role == "admin" then
      if m.role ~= "admin" then
        self:warn(string.format("%s is an organization admin; admins are never changed through the API "
          .. "(the file says %s)", m.email, m.role))
      end
    elseif m.role == "admin" then
      add { symbol = "?", kind = "user", op = "manual", id = user.id, reason = "the admin role cannot be given "
        .. "through the API: make " .. m.email .. " an admin in the Console" }
    elseif user.role ~= m.role then
      self.role_after[user.id] = m.role
      add { symbol = "~", kind = "user", op = "update", id = user.id, email = m.email, before = { role = user.role },
        after = { role = m.role }, changes = { { "role", user.role, m.role } }, reason = "role in the file" }
    end
  elseif invite and invite.role == m.role then
    return -- a pending invite satisfies the member
  elseif m.role == "admin" then
    add { symbol = "?", kind = "invite", op = "manual", reason = "nobody can be invited as admin through the API: "
      .. "invite " .. m.email .. " in the Console" }
  elseif invite then
    add { symbol = "~", kind = "invite", op = "reinvite", id = invite.id, email = m.email,
      before = { role = invite.role }, after = { email = m.email, role = m.role },
      changes = { { "role", invite.role, m.role } },
      reason = "an invite cannot be changed: it is withdrawn and sent again with the new role" }
  else
    add { symbol = "+", kind = "invite", op = "create", email = m.email, after = { email = m.email, role = m.role },
      adds_to = "pending invites", reason = "not in the organization" }
  end
end

-- Organization members: users and invites.
function Builder:organization()
  local config, snap = self.config, self.snap
  local o = config.organization
  if o and o.id and o.id ~= snap.org.id then
    self:problem(string.format("%s:%d: organization: this file is for organization %s, but the admin key "
      .. "belongs to %s (%s)", config.source, o.line, o.id, tostring(snap.org.id), tostring(snap.org.name)))
  end
  if o and o.name and o.name ~= snap.org.name then
    self:warn(string.format("the organization is named %s, not %s as the file says", q(snap.org.name), q(o.name)))
  end
  local declared = {}
  for _, m in ipairs(config.members) do declared[m.email] = m end
  -- e-mails that workspace member lists need in the organization
  local needed = {}
  for _, w in ipairs(config.workspaces) do
    for email in pairs(w.members or {}) do needed[email] = true end
  end
  for _, m in ipairs(config.members) do self:member(m) end
  -- users and invites the file does not declare
  local scope = #config.members > 0
  local user_set = self:set("organization members", self.non_admins)
  for _, u in ipairs(by_email(snap.users)) do
    local email = (u.email or ""):lower()
    if u.role ~= "admin" and not declared[email] and not needed[email] then
      if config.prune.members then
        self:add { wave = "removals", symbol = "-", kind = "user", op = "remove", address = member_address(email),
          id = u.id, email = email, before = { email = email, role = u.role }, prune = true, set = user_set,
          reason = "not in the file (prune members); their API keys stay" }
      elseif scope then
        self:add { wave = "organization", symbol = "?", kind = "user", op = "unmanaged",
          address = member_address(email), id = u.id, reason = "not in the file (unmanaged)" }
      end
    end
  end
  local invite_set = self:set("pending invites", self.pending)
  for _, inv in ipairs(by_email(snap.invites)) do
    local email = (inv.email or ""):lower()
    if inv.status == "pending" and self.invites[email] == inv and not declared[email] and not needed[email]
        and not self.users[email] then
      if config.prune.invites then
        self:add { wave = "removals", symbol = "-", kind = "invite", op = "delete", address = "invite " .. q(email),
          id = inv.id, email = email, before = { email = email, role = inv.role }, prune = true, set = invite_set,
          reason = "not in the file (prune invites)" }
      elseif scope then
        self:add { wave = "organization", symbol = "?", kind = "invite", op = "unmanaged",
          address = "invite " .. q(email), id = inv.id, reason = "not in the file (unmanaged)" }
      end
    end
  end
end

local function tag_changes(want, have)
  local changes, after = {}, {}
  for k, v in pairs(have or {}) do after[k] = v end
  local keys = {}
  for k in pairs(want or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = want[k]
    if v == false then
      if after[k] ~= nil then
        changes[#changes + 1] = { "tags." .. k, after[k], nil }
        after[k] = nil
      end
    elseif after[k] ~= v then
      changes[#changes + 1] = { "tags." .. k, after[k], v }
      after[k] = v
    end
  end
  return changes, after
end

function Builder:workspaces()
  local config, snap = self.config, self.snap
  for _, w in ipairs(config.workspaces) do
    local m = self.matches[w]
    local address = workspace_address(w.name)
    if w.archived then
      if m.live then
        self:add { wave = "removals", symbol = "!", kind = "workspace", op = "archive", address = address,
          id = m.live.id, before = { name = m.live.name, archived = false }, after = { archived = true },
          irreversible = true, reason = "archived = true in the file; its API keys are archived with it" }
      end
    elseif m.live then
      local changes, after = {}, {}
      if m.live.name ~= w.name then
        changes[#changes + 1] = { "name", m.live.name, w.name }
        after.name = w.name
      end
      if w.tags then
        local tchanges, tags = tag_changes(w.tags, m.live.tags)
        for _, c in ipairs(tchanges) do changes[#changes + 1] = c end
        if #tchanges > 0 then after.tags = tags end
      end
      if #changes > 0 then
        self:add { wave = "workspaces", symbol = "~", kind = "workspace", op = "update", address = address,
          id = m.live.id, before = { name = m.live.name, tags = m.live.tags }, after = after, changes = changes,
          reason = "in the file" }
      end
    elseif m.archived and not w.allow_recreate then
      m.blocked = true
      self:add { wave = "workspaces", symbol = "?", kind = "workspace", op = "manual", address = address,
        id = m.archived.id, reason = "archived on " .. tostring(m.archived.archived_at):sub(1, 10)
        .. " (archiving is final); not created again unless the file says allow_recreate = true" }
    else
      local tags = {}
      for k, v in pairs(w.tags or {}) do
        if v then tags[k] = v end
      end
      m.create = self:add { wave = "workspaces", symbol = "+", kind = "workspace", op = "create", address = address,
        after = { name = w.name, tags = next(tags) and tags or nil }, adds_to = "workspaces", reason = m.archived
        and "the workspace with this name is archived; allow_recreate = true" or "not in the organization" }
    end
  end
  if #config.workspaces == 0 and not config.prune.workspaces then return end
  local managed = 0
  for _, ws in ipairs(snap.workspaces) do
    if not ws.archived_at and not M.is_claude_code(ws) then managed = managed + 1 end
  end
  local set = self:set("workspaces", managed)
  local sorted = {}
  for i, ws in ipairs(snap.workspaces) do sorted[i] = ws end
  table.sort(sorted, function(a, b) return a.name < b.name or (a.name == b.name and a.id < b.id) end)
  for _, ws in ipairs(sorted) do
    if not ws.archived_at and not M.is_claude_code(ws) and not self.matched_ids[ws.id] then
      if config.prune.workspaces then
        self:add { wave = "removals", symbol = "!", kind = "workspace", op = "archive",
          address = workspace_address(ws.name), id = ws.id, before = { name = ws.name, archived = false },
          after = { archived = true }, irreversible = true, prune = true, set = set,
          reason = "not in the file (prune workspaces); its API keys are archived with it" }
      else
        self:add { wave = "workspaces", symbol = "?", kind = "workspace", op = "unmanaged",
          address = workspace_address(ws.name), id = ws.id, reason = "not in the file (unmanaged)" }
      end
    end
  end
end

-- The workspace reference an action carries: the live id, or the create it waits for.
local function ws_ref(w, m)
  return { name = w.name, id = m.live and m.live.id or nil }
end

function Builder:members()
  local config = self.config
  for _, w in ipairs(config.workspaces) do
    local m = self.matches[w]
    if w.members and not w.archived and not m.blocked then
      local live = {}
      for _, x in ipairs(m.live and self.snap.members[m.live.id] or {}) do live[x.user_id] = x end
      local emails = {}
      for email in pairs(w.members) do emails[#emails + 1] = email end
      table.sort(emails)
      local declared_ids = {}
      for _, email in ipairs(emails) do
        local role = w.members[email]
        local user = self.users[email]
        local address = workspace_address(w.name) .. " member " .. q(email)
        if not user then
          if self.invites[email] or self.declared_members[email] then
            self:add { wave = "members", symbol = "?", kind = "workspace_member", op = "waiting", address = address,
              reason = email .. " has not joined the organization yet (invite pending); added on a later run" }
          else
            self:problem(string.format("%s:%d: workspace %s: members[%s]: not in the organization; declare "
              .. "member %s { role = \"...\" } to invite them", config.source, w.line, q(w.name), q(email), q(email)))
          end
        elseif user.role == "admin" then
          declared_ids[user.id] = true
          if role ~= "workspace_admin" then
            self:warn(string.format("workspace %s: %s is an organization admin, workspace_admin in every workspace "
              .. "(inherited); not changed to %s", q(w.name), email, role))
          end
        else
          declared_ids[user.id] = true
          local cur = live[user.id]
          if not cur then
            self:add { wave = "members", symbol = "+", kind = "workspace_member", op = "add", address = address,
              workspace = ws_ref(w, m), user_id = user.id, email = email, after = { workspace_role = role },
              needs = m.create and m.create.address or nil, adds_to = "members of workspace " .. q(w.name),
              reason = "in the file" }
          elseif cur.workspace_role ~= role then
            if (self.role_after[user.id] or user.role) == "billing" and cur.workspace_role == "workspace_billing" then
              self:warn(string.format("workspace %s: %s has workspace_billing from the billing role (inherited); "
                .. "not changed", q(w.name), email))
            else
              self:add { wave = "members", symbol = "~", kind = "workspace_member", op = "update", address = address,
                workspace = ws_ref(w, m), user_id = user.id, email = email,
                before = { workspace_role = cur.workspace_role }, after = { workspace_role = role },
                changes = { { "workspace_role", cur.workspace_role, role } }, reason = "in the file" }
            end
          end
        end
      end
      -- live members the file does not list
      local extra, explicit = {}, 0
      for _, x in ipairs(m.live and self.snap.members[m.live.id] or {}) do
        local user = self.users_by_id[x.user_id]
        local role = user and (self.role_after[user.id] or user.role) -- the organization role after this plan
        local inherited = role == "admin" or (role == "billing" and x.workspace_role == "workspace_billing")
        if not inherited then
          explicit = explicit + 1
          if not declared_ids[x.user_id] then extra[#extra + 1] = { x, user } end
        end
      end
      local set = self:set("members of workspace " .. q(w.name), explicit)
      for _, e in ipairs(extra) do
        local x, user = e[1], e[2]
        local who = user and (user.email or ""):lower() or x.user_id
        local address = workspace_address(w.name) .. " member " .. q(who)
        if config.prune.workspace_members then
          self:add { wave = "removals", symbol = "-", kind = "workspace_member", op = "remove", address = address,
            workspace = ws_ref(w, m), user_id = x.user_id, email = who, before = { workspace_role = x.workspace_role },
            prune = true, set = set, reason = "not in the file (prune workspace_members)" }
        else
          self:add { wave = "members", symbol = "?", kind = "workspace_member", op = "unmanaged", address = address,
            user_id = x.user_id, reason = "not in the file (unmanaged)" }
        end
      end
    end
  end
end

-- An existing key: its name and id (names are free text and may repeat).
local function key_address(w, k)
  return workspace_address(w.name) .. " key " .. q(k.name) .. " (" .. k.id .. ")"
end

local function newest_first(list)
  table.sort(list, function(a, b)
    if a.created_at ~= b.created_at then return (a.created_at or "") > (b.created_at or "") end
    return a.id > b.id
  end)
  return list
end

local function usable(k)
  return k.status ~= "archived" and k.status ~= "expired"
end

-- Keys: declared entries, rotation and idle checks, budgets, prune. One action per key at most.
function Builder:keys()
  local config = self.config
  for _, w in ipairs(config.workspaces) do
    local m = self.matches[w]
    if not w.archived and not m.blocked and (w.keys or w.budget) then
      local ws_keys = {}
      for _, k in ipairs(self.snap.keys) do
        if m.live and k.workspace_id == m.live.id then ws_keys[#ws_keys + 1] = k end
      end
      local wants, renames, matched = {}, {}, {}
      local function want(id, t)
        if not wants[id] or wants[id].priority < t.priority then wants[id] = t end
      end
      for _, entry in ipairs(w.keys or {}) do
        local address = workspace_address(w.name) .. " key " .. q(entry.label)
        local family = {}
        if not m.live then
          self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address,
            reason = "API keys cannot be created through the API: once the workspace exists, create a key named "
              .. q(entry.name or entry.label) .. " in it in the Console" }
        elseif entry.id then
          local k = self.keys_by_id[entry.id]
          if not k then
            self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address,
              reason = "key " .. entry.id .. " does not exist" }
          elseif k.workspace_id ~= m.live.id then
            self:problem(string.format("%s:%d: workspace %s: keys: key %s is in workspace %s, not in this one",
              config.source, w.line, q(w.name), entry.id, tostring(k.workspace_id or "default")))
          elseif not usable(k) then
            self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address, id = k.id,
              reason = "key " .. k.id .. " is " .. k.status .. " (final); create a new key in the Console" }
          else
            family = { k }
          end
        else
          local gone
          for _, k in ipairs(ws_keys) do
            if k.name == entry.name then
              if usable(k) then family[#family + 1] = k else gone = k end
            end
          end
          newest_first(family)
          if #family == 0 then
            self:add { wave = "keys", symbol = "?", kind = "api_key", op = "manual", address = address,
              reason = "does not exist" .. (gone and (" (" .. gone.id .. " is " .. gone.status .. ")") or "")
                .. ": API keys cannot be created through the API; create a key named " .. q(entry.name)
                .. " in workspace " .. q(w.name) .. " in the Console" }
          elseif #family > 1 and not entry.max_age_days and not entry.idle_days then
            local ids = {}
            for i, k in ipairs(family) do ids[i] = k.id end
            self:problem(string.format("%s:%d: workspace %s: keys[%s]: ambiguous: %d keys have this name (%s); "
              .. "pin one with { id = \"apikey_...\" }, or give max_age_days to treat them as one rotating key",
              config.source, w.line, q(w.name), q(entry.name), #family, table.concat(ids, ", ")))
            family = {}
          end
        end
        for _, k in ipairs(family) do matched[k.id] = true end
        local current = family[1]
        if current then
          if entry.status then
            want(current.id, { status = entry.status, priority = entry.status == "archived" and 5 or 1,
              reason = "status in the file" })
          end
          if entry.id and entry.name and current.name ~= entry.name then renames[current.id] = entry.name end
          local checks, kwants = rotation.evaluate(entry, family, w.name, self.usage, self.now)
          for _, c in ipairs(checks) do self.checks[#self.checks + 1] = c end
          for id, t in pairs(kwants) do want(id, t) end
        end
      end
      if w.budget then
        local c = budget.check(w, m.live and m.live.id, self.costs or {}, self.now)
        self.checks[#self.checks + 1] = c
        if c.status == "exceeded" and w.budget.on_exceed == "deactivate_keys" then
          -- inactive keys too: while the budget is exceeded, no key of the workspace is turned on
          for _, k in ipairs(ws_keys) do
            if usable(k) then want(k.id, { status = "inactive", priority = 4, reason = c.reason }) end
          end
        end
      end
      local active = 0
      for _, k in ipairs(ws_keys) do
        if k.status == "active" then active = active + 1 end
      end
      local set = self:set("active keys in workspace " .. q(w.name), active)
      if w.keys then
        for _, k in ipairs(newest_first(ws_keys)) do
          if k.status == "active" and not matched[k.id] then
            if config.prune.keys then
              want(k.id, { status = "inactive", priority = 0, prune = true,
                reason = "not in the file (prune keys: deactivated, not deleted)" })
            elseif not wants[k.id] then
              self:add { wave = "keys", symbol = "?", kind = "api_key", op = "unmanaged",
                address = key_address(w, k), id = k.id,
                reason = "not in the file (unmanaged)" }
            end
          end
        end
      end
      table.sort(ws_keys, function(a, b)
        if a.name ~= b.name then return a.name < b.name end
        return a.id < b.id
      end)
      for _, k in ipairs(ws_keys) do
        local t, rename = wants[k.id], renames[k.id]
        local status_change = t and t.status ~= k.status and usable(k)
        if status_change or rename then
          local changes, before, after = {}, { name = k.name, status = k.status }, {}
          if rename then
            changes[#changes + 1] = { "name", k.name, rename }
            after.name = rename
          end
          if status_change then
            changes[#changes + 1] = { "status", k.status, t.status }
            after.status = t.status
          end
          local archive = status_change and t.status == "archived"
          self:add { wave = (archive or (t and t.prune)) and "removals" or "keys",
            symbol = archive and "!" or (t and t.prune and status_change and "-") or "~",
            kind = "api_key", op = "update", address = key_address(w, k),
            id = k.id, workspace = ws_ref(w, m), before = before, after = after, changes = changes,
            irreversible = archive or nil, prune = t and t.prune or nil, set = t and t.prune and set or nil,
            adds_to = status_change and t.status == "active" and set or nil,
            reason = status_change and t.reason or "name in the file" }
        end
      end
    end
  end
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
  local b = setmetatable({
    config = config, snap = snap, matches = matches, now = opts.now or os.time(),
    costs = reports and reports.costs, usage = reports and reports.usage,
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
  b:organization()
  b:workspaces()
  b:members()
  b:keys()
  if #b.problems > 0 then return nil, plan_error(b.problems) end
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
