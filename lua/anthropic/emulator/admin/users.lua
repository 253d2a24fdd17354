-- Users: list (email, roles[]), get, update {role}, delete. An admin cannot be given through the
-- API, and an admin cannot be changed or removed through it either.
local common = require "anthropic.emulator.admin.common"
local store = require "anthropic.emulator.admin.store"

local M = {}

function M.json(u)
  return { type = "user", id = u.id, email = u.email, name = u.name, role = u.role,
           added_at = common.rfc3339(u.added_at) }
end

local function find(emu, id)
  local u = emu.org:user(id)
  if not u then return nil, common.not_found("User " .. id .. " not found.") end
  return u
end

-- roles[] filter values. -> set | nil | false, 400 response
function M.roles_filter(params)
  local roles = common.list_param(params, "roles")
  if not roles then return nil end
  local s = {}
  for _, r in ipairs(roles) do
    local err = common.check_enum("roles", r, store.ORG_ROLES)
    if err then return false, err end
    s[r] = true
  end
  return s
end

function M.list(emu, req)
  local email, err = common.param(req.params, "email")
  if email == false then return err end
  local roles
  roles, err = M.roles_filter(req.params)
  if roles == false then return err end
  local items = {}
  for _, u in ipairs(emu.org:sorted(emu.org.d.users, "added_at")) do
    if (not email or u.email:lower() == email:lower()) and (not roles or roles[u.role]) then
      items[#items + 1] = u
    end
  end
  local page
  page, err = common.page(items, req.params, M.json)
  if not page then return err end
  return common.ok(page)
end

function M.get(emu, req)
  local u, err = find(emu, req.captures[1])
  if not u then return err end
  return common.ok(M.json(u))
end

local UPDATE_FIELDS = common.set { "role" }

function M.update(emu, req)
  local u, err = find(emu, req.captures[1])
  if not u then return err end
  local body
  body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, UPDATE_FIELDS)
  if err then return err end
  if not common.present(body.role) then return common.bad("role: Field required") end
  if body.role == "admin" then
    return common.bad("role: the admin role cannot be assigned through the API; use the Console")
  end
  err = common.check_enum("role", body.role, store.SETTABLE_ROLES)
  if err then return err end
  if emu.org:is_admin(u) then
    return common.bad("User " .. u.id .. " is an admin; an admin's role cannot be changed through the API.")
  end
  u.role = body.role
  return common.ok(M.json(u))
end

function M.delete(emu, req)
  local u, err = find(emu, req.captures[1])
  if not u then return err end
  if emu.org:is_admin(u) then
    return common.bad("User " .. u.id .. " is an admin; admins cannot be removed through the API.")
  end
  emu.org:remove_user(u)
  return common.ok { id = u.id, type = "user_deleted" }
end

-- POST /v1/organizations/users/{id}/sign_out (beta admin-user-sign-out-2026-10-08): ends the
-- user's sessions and answers the user. The emulator has no sessions to end.
M.SIGN_OUT_BETA = "admin-user-sign-out-2026-10-08"

function M.sign_out(emu, req)
  local beta = false
  for b in (req.headers["anthropic-beta"] or ""):gmatch("[^,%s]+") do
    if b == M.SIGN_OUT_BETA then beta = true end
  end
  if not beta then return common.bad("This endpoint is in beta: send the anthropic-beta header " .. M.SIGN_OUT_BETA) end
  local u = emu.org:user(req.captures[1])
  if not u then return common.not_found("User " .. req.captures[1] .. " not found.") end
  return common.ok(M.json(u))
end

function M.register(emu)
  emu:route("POST", "^/v1/organizations/users/([^/]+)/sign_out$", M.sign_out, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/users$", M.list, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/users/([^/]+)$", M.get, { auth = "admin" })
  emu:route("POST", "^/v1/organizations/users/([^/]+)$", M.update, { auth = "admin" })
  emu:route("DELETE", "^/v1/organizations/users/([^/]+)$", M.delete, { auth = "admin" })
end

return M
