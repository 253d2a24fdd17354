--- Planning people: member blocks against users and pending invites, and (with prune) users and
-- invites the file leaves out. Organization admins are never changed or removed.
local builder = require "anthropic.reconcile.builder"

local Builder = builder.Builder
local q, member_address, by_email = builder.q, builder.member_address, builder.by_email

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
    add { symbol = "+", kind = "invite", op = "create", email = m.email,
      after = { email = m.email, role = m.role, rbac_group_ids = m.rbac_group_ids },
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
  local declared = self.declared_members
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

return Builder
