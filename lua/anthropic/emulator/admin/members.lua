-- Workspace members: add {user_id, workspace_role} (not workspace_billing), list, get, update
-- {workspace_role} (all five roles), remove. Organization admins are workspace_admin in every
-- workspace: they are listed as members, and cannot be added, changed or removed.
local common = require "anthropic.emulator.admin.common"
local store = require "anthropic.emulator.admin.store"
local workspaces = require "anthropic.emulator.admin.workspaces"

local M = {}

M.ADD_ROLES = { "workspace_user", "workspace_developer", "workspace_restricted_developer", "workspace_admin" }

function M.json(m)
  return { type = "workspace_member", user_id = m.user_id, workspace_id = m.workspace_id,
           workspace_role = m.role }
end

local function check_role(v, list)
  if not common.present(v) then return common.bad("workspace_role: Field required") end
  return common.check_enum("workspace_role", v, list)
end

local function not_member(user_id, ws)
  return common.not_found("User " .. user_id .. " is not a member of workspace " .. ws.id .. ".")
end

-- The workspace and user of a member path, and the membership. -> ws, user, membership | nil, response
local function locate(emu, req)
  local ws, err = workspaces.find(emu, req.captures[1])
  if not ws then return nil, err end
  local user_id = req.captures[2]
  local user = emu.org:user(user_id)
  local m = emu.org:member(ws, user)
  if not m then return nil, not_member(user_id, ws) end
  return ws, user, m
end

local ADD_FIELDS = common.set { "user_id", "workspace_role" }

function M.add(emu, req)
  local ws, err = workspaces.find(emu, req.captures[1])
  if not ws then return err end
  local body
  body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, ADD_FIELDS)
  if err then return err end
  if not common.present(body.user_id) then return common.bad("user_id: Field required") end
  if type(body.user_id) ~= "string" then return common.bad("user_id: Input should be a valid string") end
  if body.workspace_role == "workspace_billing" then
    return common.bad("workspace_role: a member cannot be added with the 'workspace_billing' role; "
      .. "add the member with another role, then update it")
  end
  err = check_role(body.workspace_role, M.ADD_ROLES)
  if err then return err end
  local org = emu.org
  local user = org:user(body.user_id)
  if not user then return common.not_found("User " .. body.user_id .. " not found.") end
  if ws.archived_at then return common.bad("Workspace " .. ws.id .. " is archived.") end
  if org:is_admin(user) then
    return common.bad("User " .. user.id .. " is an organization admin and already workspace_admin in every workspace.")
  end
  if org:member(ws, user) then
    return common.bad("User " .. user.id .. " is already a member of workspace " .. ws.id .. ".")
  end
  org:set_member(ws, user, body.workspace_role)
  return common.ok(M.json { user_id = user.id, workspace_id = ws.id, role = body.workspace_role })
end

function M.list(emu, req)
  local ws, err = workspaces.find(emu, req.captures[1])
  if not ws then return err end
  local page
  page, err = common.page(emu.org:members_of(ws), req.params, M.json, function(m) return m.user_id end)
  if not page then return err end
  return common.ok(page)
end

function M.get(emu, req)
  local ws, user, m = locate(emu, req)
  if not ws then return user end
  return common.ok(M.json { user_id = user.id, workspace_id = ws.id, role = m.role })
end

local UPDATE_FIELDS = common.set { "workspace_role" }

function M.update(emu, req)
  local ws, user, m = locate(emu, req)
  if not ws then return user end
  local body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, UPDATE_FIELDS) or check_role(body.workspace_role, store.WORKSPACE_ROLES)
  if err then return err end
  if ws.archived_at then return common.bad("Workspace " .. ws.id .. " is archived.") end
  if m.implicit then
    return common.bad("User " .. user.id .. " is an organization admin; their workspace role cannot be changed.")
  end
  emu.org:set_member(ws, user, body.workspace_role)
  return common.ok(M.json { user_id = user.id, workspace_id = ws.id, role = body.workspace_role })
end

function M.remove(emu, req)
  local ws, user, m = locate(emu, req)
  if not ws then return user end
  if ws.archived_at then return common.bad("Workspace " .. ws.id .. " is archived.") end
  if m.implicit then
    return common.bad("User " .. user.id .. " is an organization admin and cannot be removed from a workspace.")
  end
  emu.org:remove_member(ws, user)
  return common.ok { type = "workspace_member_deleted", user_id = user.id, workspace_id = ws.id }
end

function M.register(emu)
  local base = "^/v1/organizations/workspaces/([^/]+)/members"
  emu:route("POST", base .. "$", M.add, { auth = "admin" })
  emu:route("GET", base .. "$", M.list, { auth = "admin" })
  emu:route("GET", base .. "/([^/]+)$", M.get, { auth = "admin" })
  emu:route("POST", base .. "/([^/]+)$", M.update, { auth = "admin" })
  emu:route("DELETE", base .. "/([^/]+)$", M.remove, { auth = "admin" })
end

return M
