-- Workspaces: create, list (include_archived), get, update, archive. Archiving is final (an
-- archived workspace cannot be updated; archiving it again returns it unchanged) and archives the
-- workspace's API keys. Names are unique among workspaces that are not archived. The default
-- workspace is not an object here: it shows as workspace_id null on keys and in reports.
local common = require "anthropic.emulator.admin.common"
local store = require "anthropic.emulator.admin.store"
local util = require "anthropic.emulator.util"

local M = {}

M.MAX_NAME = 40

function M.json(w)
  local dr = w.data_residency
  local allowed = dr.allowed_inference_geos
  if type(allowed) == "table" then
    local copy = {}
    for i, g in ipairs(allowed) do copy[i] = g end
    allowed = copy
  end
  local tags = {}
  for k, v in pairs(w.tags) do tags[k] = v end
  return {
    type = "workspace", id = w.id, name = w.name, created_at = common.rfc3339(w.created_at),
    archived_at = w.archived_at and common.rfc3339(w.archived_at) or common.null,
    display_color = w.display_color,
    data_residency = { workspace_geo = dr.workspace_geo, allowed_inference_geos = allowed,
                       default_inference_geo = dr.default_inference_geo },
    tags = setmetatable(tags, nil), external_key_id = common.opt(w.external_key_id),
    compartment_id = w.compartment_id or util.stable_id("compartment_01", w.id, 22),
    user_profile_id = common.opt(w.user_profile_id),
  }
end

-- The default workspace, as workspaces.list({ include_default = true }) shows it: it is no
-- object of the Admin API otherwise (keys and reports show it as workspace_id null).
function M.default_json(emu)
  local org = emu.org.d.org
  return {
    type = "workspace", id = util.stable_id("wrkspc_01", "default:" .. org.id, 22), name = "Default Workspace",
    created_at = common.rfc3339(M.EPOCH), archived_at = common.null, display_color = "#6C5BB9",
    data_residency = { workspace_geo = "us", allowed_inference_geos = "unrestricted",
                       default_inference_geo = "global" },
    tags = {}, external_key_id = common.null,
    compartment_id = util.stable_id("compartment_01", "default:" .. org.id, 22),
    user_profile_id = common.null,
  }
end
M.EPOCH = 1704067200 -- 2024-01-01, when the emulator's organizations were "created"

-- display_color: "#RRGGBB". -> nil | 400 response
local function check_color(v)
  if type(v) ~= "string" or not v:match("^#%x%x%x%x%x%x$") then
    return common.bad("display_color: Input should be a hex color like '#6C5BB9'")
  end
end

-- user_profile_id: a tagged user profile id (uprof_...), or null on create. -> nil | 400 response
local function check_profile(v, nullable)
  if v == common.null and nullable then return nil end
  if type(v) ~= "string" or not v:match("^uprof_[%w]+$") then
    return common.bad("user_profile_id: Input should be a user profile id (uprof_...)")
  end
end

-- The workspace named by the path. -> workspace | nil, 404 response
function M.find(emu, id)
  local w = emu.org:workspace(id)
  if not w then return nil, common.not_found("Workspace " .. id .. " not found.") end
  return w
end

local function check_name(org, name, except)
  if not common.present(name) then return common.bad("name: Field required") end
  if type(name) ~= "string" then return common.bad("name: Input should be a valid string") end
  if name:match("^%s*$") then return common.bad("name: String should have at least 1 character") end
  local chars = utf8.len(name) -- characters, as the API counts them (not bytes)
  if not chars then return common.bad("name: Input should be a valid string (not valid UTF-8)") end
  if chars > M.MAX_NAME then
    return common.bad("name: String should have at most " .. M.MAX_NAME .. " characters")
  end
  local other = org:active_named(name, except)
  if other then
    return common.bad("A workspace named '" .. name .. "' already exists (" .. other.id .. ").")
  end
end

local function check_tags(tags)
  if not common.is_object(tags) then return common.bad("tags: Input should be a valid dictionary") end
  for k, v in pairs(tags) do
    if type(k) ~= "string" or type(v) ~= "string" then
      return common.bad("tags: keys and values should be strings")
    end
    if k:lower():find("^anthropic") then
      return common.bad("tags." .. k .. ": tag keys may not start with 'anthropic'")
    end
  end
end

local DR_FIELDS = common.set { "workspace_geo", "allowed_inference_geos", "default_inference_geo" }

-- Checks data_residency against the current values (cur, when updating).
-- -> the new data_residency table | nil, 400 response
local function check_residency(dr, cur)
  if not common.is_object(dr) then return nil, common.bad("data_residency: Input should be a valid dictionary") end
  for k in pairs(dr) do
    if not DR_FIELDS[k] then
      return nil, common.bad("data_residency." .. tostring(k) .. ": Extra inputs are not permitted")
    end
  end
  local out = cur and { workspace_geo = cur.workspace_geo, allowed_inference_geos = cur.allowed_inference_geos,
                        default_inference_geo = cur.default_inference_geo }
    or { workspace_geo = "us", allowed_inference_geos = "unrestricted", default_inference_geo = "global" }
  if common.present(dr.workspace_geo) then
    local err = common.check_enum("data_residency.workspace_geo", dr.workspace_geo, { "us" })
    if err then return nil, err end
    if cur and dr.workspace_geo ~= cur.workspace_geo then
      return nil, common.bad("data_residency.workspace_geo: cannot be changed after the workspace is created")
    end
    out.workspace_geo = dr.workspace_geo
  end
  local allowed = dr.allowed_inference_geos
  if common.present(allowed) then
    if allowed ~= "unrestricted" then
      if not common.is_list(allowed) or #allowed == 0 then
        return nil, common.bad("data_residency.allowed_inference_geos: Input should be 'unrestricted' or a "
          .. "non-empty list of geos")
      end
      for i, g in ipairs(allowed) do
        local err = common.check_enum("data_residency.allowed_inference_geos." .. (i - 1), g, store.GEOS)
        if err then return nil, err end
      end
    end
    out.allowed_inference_geos = allowed
  end
  if common.present(dr.default_inference_geo) then
    local err = common.check_enum("data_residency.default_inference_geo", dr.default_inference_geo, store.GEOS)
    if err then return nil, err end
    out.default_inference_geo = dr.default_inference_geo
  end
  if out.allowed_inference_geos ~= "unrestricted" then
    local ok = false
    for _, g in ipairs(out.allowed_inference_geos) do
      if g == out.default_inference_geo then ok = true end
    end
    if not ok then
      return nil, common.bad("data_residency.default_inference_geo: '" .. out.default_inference_geo
        .. "' is not one of allowed_inference_geos")
    end
  end
  return out
end

local CREATE_FIELDS = common.set { "name", "data_residency", "tags", "external_key_id", "display_color",
  "user_profile_id", "inference_data_privacy" }

function M.create(emu, req)
  local body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, CREATE_FIELDS) or check_name(emu.org, body.name)
  if err then return err end
  local t = { name = body.name }
  if common.present(body.tags) then
    err = check_tags(body.tags)
    if err then return err end
    t.tags = body.tags
  end
  if common.present(body.data_residency) then
    t.data_residency, err = check_residency(body.data_residency)
    if not t.data_residency then return err end
  end
  if common.present(body.external_key_id) then
    if type(body.external_key_id) ~= "string" then
      return common.bad("external_key_id: Input should be a valid string")
    end
    t.external_key_id = body.external_key_id
  end
  if common.present(body.display_color) then
    err = check_color(body.display_color)
    if err then return err end
    t.display_color = body.display_color:upper()
  end
  if common.present(body.user_profile_id) then
    err = check_profile(body.user_profile_id)
    if err then return err end
  end
  local w = emu.org:add_workspace(t)
  if common.present(body.user_profile_id) then w.user_profile_id = body.user_profile_id end
  return common.ok(M.json(w))
end

function M.list(emu, req)
  local include, err = common.bool_param(req.params, "include_archived")
  if include == nil then return err end
  local with_default
  with_default, err = common.bool_param(req.params, "include_default")
  if with_default == nil then return err end
  local ids = common.list_param(req.params, "ids")
  local wanted = ids and common.set(ids)
  local items = {}
  for _, w in ipairs(emu.org:sorted(emu.org.d.workspaces, "created_at")) do
    if (include or not w.archived_at) and (not wanted or wanted[w.id]) then items[#items + 1] = w end
  end
  if with_default then
    local d = M.default_json(emu)
    if not wanted or wanted[d.id] then items[#items + 1] = { default = d, id = d.id } end -- the oldest: last
  end
  local page
  page, err = common.page(items, req.params, function(w) return w.default or M.json(w) end)
  if not page then return err end
  return common.ok(page)
end

function M.get(emu, req)
  local w, err = M.find(emu, req.captures[1])
  if not w then return err end
  return common.ok(M.json(w))
end

local UPDATE_FIELDS = CREATE_FIELDS

function M.update(emu, req)
  local w, err = M.find(emu, req.captures[1])
  if not w then return err end
  local body
  body, err = common.body(emu, req)
  if not body then return err end
  err = common.check_fields(body, UPDATE_FIELDS)
  if err then return err end
  if w.archived_at then return common.bad("Workspace " .. w.id .. " is archived and cannot be updated.") end
  if body.name ~= nil then
    err = check_name(emu.org, body.name, w)
    if err then return err end
  end
  local dr
  if common.present(body.data_residency) then
    dr, err = check_residency(body.data_residency, w.data_residency)
    if not dr then return err end
  end
  local tags
  if common.present(body.tags) then -- merged into the workspace's tags; a null value removes that tag
    if not common.is_object(body.tags) then return common.bad("tags: Input should be a valid dictionary") end
    tags = {}
    for k, v in pairs(w.tags) do tags[k] = v end
    local set = {}
    for k, v in pairs(body.tags) do
      if v == common.null then tags[k] = nil else set[k], tags[k] = v, v end
    end
    err = check_tags(set)
    if err then return err end
    err = check_tags(tags)
    if err then return err end
  end
  if body.display_color ~= nil then
    err = check_color(body.display_color)
    if err then return err end
  end
  if body.user_profile_id ~= nil then
    err = check_profile(body.user_profile_id)
    if err then return err end
  end
  if common.present(body.external_key_id) then
    if type(body.external_key_id) ~= "string" then
      return common.bad("external_key_id: Input should be a valid string")
    end
    if w.external_key_id and w.external_key_id ~= body.external_key_id then
      return common.bad("external_key_id: is set once and cannot be changed")
    end
  end
  -- every check passed: apply
  if body.name ~= nil then w.name = body.name end
  if dr then w.data_residency = dr end
  if tags then w.tags = tags end
  if body.display_color ~= nil then w.display_color = body.display_color:upper() end
  if body.user_profile_id ~= nil then w.user_profile_id = body.user_profile_id end
  if common.present(body.external_key_id) then w.external_key_id = body.external_key_id end
  return common.ok(M.json(w))
end

function M.archive(emu, req)
  local w, err = M.find(emu, req.captures[1])
  if not w then return err end
  if req.body and not req.body:match("^%s*$") then
    local body
    body, err = common.body(emu, req)
    if not body then return err end
    err = common.check_fields(body, {})
    if err then return err end
  end
  emu.org:archive_workspace(w)
  return common.ok(M.json(w))
end

function M.register(emu)
  emu:route("POST", "^/v1/organizations/workspaces$", M.create, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/workspaces$", M.list, { auth = "admin" })
  emu:route("GET", "^/v1/organizations/workspaces/([^/]+)$", M.get, { auth = "admin" })
  emu:route("POST", "^/v1/organizations/workspaces/([^/]+)$", M.update, { auth = "admin" })
  emu:route("POST", "^/v1/organizations/workspaces/([^/]+)/archive$", M.archive, { auth = "admin" })
end

return M
