-- Invites: create {email, role}, list (email, roles[], statuses[]), get, delete. An invite
-- expires 21 days after it was sent (by the emulator clock); a deleted invite keeps its object
-- (status "deleted", still readable by id) but leaves every list.
local common = require "anthropic.emulator.admin.common"
local json = require "anthropic.emulator.json"
local store = require "anthropic.emulator.admin.store"
local users = require "anthropic.emulator.admin.users"

local M = {}

M.LIST_STATUSES = { "accepted", "expired", "pending" }

function M.json(emu, inv)
  return {
    type = "invite", id = inv.id, email = inv.email, role = inv.role, status = emu.org:invite_status(inv),
    invited_at = common.rfc3339(inv.invited_at), expires_at = common.rfc3339(inv.expires_at),
    accepted_at = inv.accepted_at and common.rfc3339(inv.accepted_at) or common.null,
    rbac_group_ids = json.array(inv.rbac_group_ids or {}),
  }
end

local function find(emu, id)
  local inv = emu.org:invite(id)
  if not inv then return nil, common.not_found("Invite " .. id .. " not found.") end
  return inv
end

local CREATE_FIELDS = common.set { "email", "role", "rbac_group_ids" }

function M.create(emu, req)
  local body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, CREATE_FIELDS)
  if err then return err end
  if not common.present(body.email) then return common.bad("email: Field required") end
  if type(body.email) ~= "string" or not body.email:match("^[^@%s]+@[^@%s]+%.[^@%s]+$") then
    return common.bad("email: value is not a valid email address")
  end
  if not common.present(body.role) then return common.bad("role: Field required") end
  if body.role == "admin" then
    return common.bad("role: the admin role cannot be assigned through the API; use the Console")
  end
  err = common.check_enum("role", body.role, store.SETTABLE_ROLES)
  if err then return err end
  local org = emu.org
  if org:user_by_email(body.email) then
    return common.bad("A user with email " .. body.email .. " is already a member of this organization.")
  end
  for _, inv in pairs(org.d.invites) do
    if inv.email:lower() == body.email:lower() and org:invite_status(inv) == "pending" then
      return common.bad("A pending invite for " .. body.email .. " already exists (" .. inv.id .. ").")
    end
  end
  local groups
  if common.present(body.rbac_group_ids) then
    if not common.is_list(body.rbac_group_ids) then
      return common.bad("rbac_group_ids: Input should be a valid list")
    end
    groups = {}
    for i, g in ipairs(body.rbac_group_ids) do
      if type(g) ~= "string" or not g:match("^rbac_group_[%w]+$") then
        return common.bad("rbac_group_ids." .. (i - 1) .. ": Input should be an RBAC group id (rbac_group_...)")
      end
      groups[i] = g
    end
  end
  local inv = org:add_invite { email = body.email, role = body.role }
  inv.rbac_group_ids = groups
  return common.ok(M.json(emu, inv))
end

function M.list(emu, req)
  local email, err = common.param(req.params, "email")
  if email == false then return err end
  local roles
  roles, err = users.roles_filter(req.params)
  if roles == false then return err end
  local statuses = common.list_param(req.params, "statuses")
  local wanted
  if statuses then
    wanted = {}
    for _, s in ipairs(statuses) do
      err = common.check_enum("statuses", s, M.LIST_STATUSES)
      if err then return err end
      wanted[s] = true
    end
  end
  local org = emu.org
  local items = {}
  for _, inv in ipairs(org:sorted(org.d.invites, "invited_at")) do
    local status = org:invite_status(inv)
    if status ~= "deleted" and (not email or inv.email:lower() == email:lower())
        and (not roles or roles[inv.role]) and (not wanted or wanted[status]) then
      items[#items + 1] = inv
    end
  end
  local page
  page, err = common.page(items, req.params, function(inv) return M.json(emu, inv) end)
  if not page then return err end
  return common.ok(page)
end

function M.get(emu, req)
  local inv, err = find(emu, req.captures[1])
  if not inv then return err end
  return common.ok(M.json(emu, inv))
end

function M.delete(emu, req)
  local inv, err = find(emu, req.captures[1])
  if not inv then return err end
  if inv.status == "deleted" then return common.not_found("Invite " .. inv.id .. " not found.") end
  inv.status = "deleted"
  return common.ok { id = inv.id, type = "invite_deleted" }
end

function M.register(emu)
  emu:route("POST", "^/v1/organizations/invites$", M.create, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/invites$", M.list, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/invites/([^/]+)$", M.get, { auth = "admin" })
  emu:route("DELETE", "^/v1/organizations/invites/([^/]+)$", M.delete, { auth = "admin" })
end

return M
