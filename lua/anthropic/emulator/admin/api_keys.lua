-- API keys: list (status, workspace_id, created_by_user_id), get, update {name?, status?}. There
-- is no create or delete, as in the real API: keys come from the seed or from the control
-- endpoint POST /_emulator/api_keys, which creates them "as the Console would". Archived is
-- final; expired is a state a key reaches by itself (expires_at), never one that can be set.
local common = require "anthropic.emulator.admin.common"
local store = require "anthropic.emulator.admin.store"

local M = {}

M.SETTABLE = { "active", "inactive", "archived" }
M.MAX_NAME = 500

-- A key as the API answers it. API version 2026-10-21 (the default of today's SDKs) gives
-- `scope` ({type = "workspace", workspace_id} or {type = "organization"}) and `principal` (the
-- user or service account the key acts as; null for a workspace key); 2023-06-01 gives
-- `workspace_id` instead (req: the request, for its version).
function M.json(emu, k, req)
  local t = {
    type = "api_key", id = k.id, name = k.name, status = emu.org:key_status(k),
    created_at = common.rfc3339(k.created_at),
    created_by = k.created_by and { id = k.created_by, type = "user" } or common.null,
    expires_at = k.expires_at and common.rfc3339(k.expires_at) or common.null,
    partial_key_hint = common.opt(k.hint),
  }
  if req and req.api_version == "2023-06-01" then
    t.workspace_id = common.opt(k.workspace_id)
  else
    t.scope = k.workspace_id and { type = "workspace", workspace_id = k.workspace_id } or { type = "organization" }
    t.principal = k.workspace_id == nil and k.created_by and { type = "user_actor", user_id = k.created_by }
      or common.null
  end
  return t
end

local function find(emu, id)
  local k = emu.org:api_key(id)
  if not k then return nil, common.not_found("API key " .. id .. " not found.") end
  return k
end

function M.list(emu, req)
  local params = req.params
  local status, err = common.param(params, "status")
  if status == false then return err end
  if status then
    err = common.check_enum("status", status, store.KEY_STATUSES)
    if err then return err end
  end
  local ws
  ws, err = common.param(params, "workspace_id")
  if ws == false then return err end
  local by
  by, err = common.param(params, "created_by_user_id")
  if by == false then return err end
  local org = emu.org
  local items = {}
  for _, k in ipairs(org:sorted(org.d.keys, "created_at")) do
    if (not status or org:key_status(k) == status) and (not ws or k.workspace_id == ws)
        and (not by or k.created_by == by) then
      items[#items + 1] = k
    end
  end
  local page
  page, err = common.page(items, params, function(k) return M.json(emu, k, req) end)
  if not page then return err end
  return common.ok(page)
end

function M.get(emu, req)
  local k, err = find(emu, req.captures[1])
  if not k then return err end
  return common.ok(M.json(emu, k, req))
end

-- Checks a key name. -> nil | 400 response
function M.check_name(name)
  if type(name) ~= "string" then return common.bad("name: Input should be a valid string") end
  if name:match("^%s*$") then return common.bad("name: String should have at least 1 character") end
  local chars = utf8.len(name) -- characters, as the API counts them (not bytes)
  if not chars then return common.bad("name: Input should be a valid string (not valid UTF-8)") end
  if chars > M.MAX_NAME then return common.bad("name: String should have at most " .. M.MAX_NAME .. " characters") end
end

local UPDATE_FIELDS = common.set { "name", "status" }

function M.update(emu, req)
  local k, err = find(emu, req.captures[1])
  if not k then return err end
  local body
  body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, UPDATE_FIELDS)
  if err then return err end
  if common.present(body.name) then
    err = M.check_name(body.name)
    if err then return err end
  end
  if common.present(body.status) then
    if body.status == "expired" then
      return common.bad("status: 'expired' cannot be set; a key expires by itself at its expires_at. "
        .. "Input should be " .. common.enum_words(M.SETTABLE))
    end
    err = common.check_enum("status", body.status, M.SETTABLE)
    if err then return err end
  end
  local current = emu.org:key_status(k)
  if current == "archived" then return common.bad("API key " .. k.id .. " is archived and cannot be updated.") end
  if current == "expired" and common.present(body.status) and body.status ~= "archived" then
    return common.bad("API key " .. k.id .. " has expired; its status can only be set to 'archived'.")
  end
  if common.present(body.name) then k.name = body.name end
  if common.present(body.status) then k.status = body.status end
  return common.ok(M.json(emu, k, req))
end

function M.register(emu)
  emu:route("GET", "^/v1/organizations/api_keys$", M.list, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/api_keys/([^/]+)$", M.get, { auth = "admin" })
  emu:route("POST", "^/v1/organizations/api_keys/([^/]+)$", M.update, { auth = "admin" })
end

return M
