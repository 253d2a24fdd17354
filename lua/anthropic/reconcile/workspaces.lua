--- Planning workspaces (create, rename, tags, archive, prune) and their members (add, change
-- role, prune). Inherited memberships (organization admins, billing members) are never touched.
local builder = require "anthropic.reconcile.builder"

local Builder = builder.Builder
local q, workspace_address, ws_ref = builder.q, builder.workspace_address, builder.ws_ref

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
      if w.display_color and (m.live.display_color or ""):upper() ~= w.display_color then
        changes[#changes + 1] = { "display_color", m.live.display_color, w.display_color }
        after.display_color = w.display_color
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
        after = { name = w.name, tags = next(tags) and tags or nil, display_color = w.display_color },
        adds_to = "workspaces", reason = m.archived
        and "the workspace with this name is archived; allow_recreate = true" or "not in the organization" }
    end
  end
  if #config.workspaces == 0 and not config.prune.workspaces then return end
  local managed = 0
  for _, ws in ipairs(snap.workspaces) do
    if not ws.archived_at and not builder.is_claude_code(ws) then managed = managed + 1 end
  end
  local set = self:set("workspaces", managed)
  local sorted = {}
  for i, ws in ipairs(snap.workspaces) do sorted[i] = ws end
  table.sort(sorted, function(a, b) return a.name < b.name or (a.name == b.name and a.id < b.id) end)
  for _, ws in ipairs(sorted) do
    if not ws.archived_at and not builder.is_claude_code(ws) and not self.matched_ids[ws.id] then
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

-- Whether a workspace role comes with the organization role (after this plan) of the user: admins
-- are workspace_admin everywhere, billing members workspace_billing. Such memberships are left alone.
function Builder:inherited(user, workspace_role)
  local role = user and (self.role_after[user.id] or user.role)
  return role == "admin" or (role == "billing" and workspace_role == "workspace_billing")
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
            if self:inherited(user, cur.workspace_role) then
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
        if not self:inherited(user, x.workspace_role) then
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

return Builder
