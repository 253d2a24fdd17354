-- Seeds: the organization the emulator starts with. A seed is a table (from a JSON or Lua file,
-- POST /_emulator/seed, or emulator.new{seed = ...}); docs/emulator.md describes the format.
-- apply() checks everything and builds a new store; nothing changes when the seed is invalid.
local common = require "anthropic.emulator.admin.common"
local json = require "anthropic.emulator.json"
local rate_limits = require "anthropic.emulator.admin.rate_limits"
local reports = require "anthropic.emulator.admin.reports"
local store = require "anthropic.emulator.admin.store"
local util = require "anthropic.emulator.util"

local M = {}

M.ORGANIZATION_NAME = "Emulator Organization"

-- The organization an emulator has when no seed is given. Times are relative to the emulator
-- clock at (re)seeding; ids are derived from names, so they are the same in every run.
M.DEFAULT = {
  users = {
    { email = "ada@example.com", name = "Ada Admin", role = "admin", added_at = "-400d" },
    { email = "bob@example.com", name = "Bob Developer", role = "developer", added_at = "-300d" },
    { email = "carol@example.com", name = "Carol User", role = "user", added_at = "-200d" },
    { email = "dave@example.com", name = "Dave Billing", role = "billing", added_at = "-100d" },
    { email = "erin@example.com", name = "Erin Coder", role = "claude_code_user", added_at = "-30d" },
  },
  workspaces = {
    { name = "Production", created_at = "-365d", members = {
        { user_id = "bob@example.com", workspace_role = "workspace_developer" },
        { user_id = "carol@example.com", workspace_role = "workspace_user" } } },
    { name = "Staging", created_at = "-180d", members = {
        { user_id = "bob@example.com", workspace_role = "workspace_admin" },
        { user_id = "erin@example.com", workspace_role = "workspace_developer" } } },
  },
  invites = {
    { email = "frank@example.com", role = "developer", invited_at = "-2d" },
    { email = "grace@example.com", role = "user", invited_at = "-30d" },
  },
  api_keys = {
    { name = "default-scripts", workspace_id = json.null, created_at = "-200d", created_by = "ada@example.com" },
    { name = "prod-backend", workspace_id = "Production", created_at = "-120d", created_by = "bob@example.com" },
    { name = "prod-batch", workspace_id = "Production", created_at = "-20d", created_by = "bob@example.com" },
    { name = "staging-ci", workspace_id = "Staging", created_at = "-10d", created_by = "bob@example.com",
      status = "inactive" },
  },
  claude_code = {
    { date = "-1d", email_address = "erin@example.com", terminal_type = "vscode",
      core_metrics = { num_sessions = 3, lines_of_code = { added = 120, removed = 14 }, commits_by_claude_code = 2,
                       pull_requests_by_claude_code = 1 },
      tool_actions = { edit_tool = { accepted = 10, rejected = 1 }, write_tool = { accepted = 2, rejected = 0 } },
      model_breakdown = { { model = "claude-sonnet-4-5-20250929",
                            tokens = { input = 1200, output = 3400, cache_read = 50000, cache_creation = 8000 },
                            estimated_cost = { amount = 93, currency = "USD" } } } },
    { date = "-1d", api_key_name = "prod-backend", customer_type = "api", terminal_type = "cli",
      core_metrics = { num_sessions = 1, lines_of_code = { added = 10, removed = 2 } } },
  },
}

local present = common.present

local function list_of(seed, name)
  local v = seed[name]
  if not present(v) then return {} end
  if not common.is_list(v) then return nil, name .. ": must be a list" end
  return v
end

local function str(v)
  return type(v) == "string" and v ~= ""
end

local function time_field(t, name, now, at, default)
  if not present(t[name]) then return default end
  return common.seed_time(t[name], now, at .. "." .. name)
end

local function in_list(v, list)
  for _, x in ipairs(list) do
    if x == v then return true end
  end
  return false
end

-- The id for a seed object: given, or derived from what it is, so it is the same every run.
local function seed_id(map, prefix, given, text)
  if present(given) then
    if not str(given) then return nil, "id must be a non-empty string" end
    if map[given] then return nil, "duplicate id " .. given end
    return given
  end
  local id = util.stable_id(prefix .. "01", text, 22)
  local n = 1
  while map[id] do
    n = n + 1
    id = util.stable_id(prefix .. "01", text .. "#" .. n, 22)
  end
  return id
end

---------------------------------------------------------------------------------------------------

local function add_users(org, seed, now)
  local list, err = list_of(seed, "users")
  if not list then return nil, err end
  for i, t in ipairs(list) do
    local at = "users." .. (i - 1)
    if type(t) ~= "table" then return nil, at .. ": must be an object" end
    if not str(t.email) or not t.email:find("@", 1, true) then
      return nil, at .. ".email: an e-mail address is required"
    end
    if org:user_by_email(t.email) then return nil, at .. ".email: duplicate " .. t.email end
    local role = present(t.role) and t.role or "user"
    if not in_list(role, store.ORG_ROLES) then
      return nil, at .. ".role: should be one of " .. table.concat(store.ORG_ROLES, ", ")
    end
    local id
    id, err = seed_id(org.d.users, "user_", t.id, "user:" .. t.email)
    if not id then return nil, at .. ".id: " .. err end
    local added
    added, err = time_field(t, "added_at", now, at)
    if err then return nil, err end
    org:add_user { id = id, email = t.email, name = present(t.name) and t.name or nil, role = role, added_at = added }
  end
  return true
end

local function add_member(org, ws, t, at)
  if type(t) ~= "table" then return nil, at .. ": must be an object" end
  local user = org:find_user(t.user_id or t.email)
  if not user then return nil, at .. ".user_id: no user " .. tostring(t.user_id or t.email) end
  local role = t.workspace_role
  if not in_list(role, store.WORKSPACE_ROLES) then
    return nil, at .. ".workspace_role: should be one of " .. table.concat(store.WORKSPACE_ROLES, ", ")
  end
  if not org:is_admin(user) then org:set_member(ws, user, role) end
  return true
end

local function add_workspaces(org, seed, now)
  local list, err = list_of(seed, "workspaces")
  if not list then return nil, err end
  for i, t in ipairs(list) do
    local at = "workspaces." .. (i - 1)
    if type(t) ~= "table" then return nil, at .. ": must be an object" end
    if not str(t.name) then return nil, at .. ".name: required" end
    local id
    id, err = seed_id(org.d.workspaces, "wrkspc_", t.id, "workspace:" .. t.name)
    if not id then return nil, at .. ".id: " .. err end
    local created, archived
    created, err = time_field(t, "created_at", now, at)
    if err then return nil, err end
    archived, err = time_field(t, "archived_at", now, at)
    if err then return nil, err end
    if not archived and org:active_named(t.name) then
      return nil, at .. ".name: duplicate active workspace " .. t.name
    end
    if present(t.tags) and not common.is_object(t.tags) then return nil, at .. ".tags: must be an object" end
    if present(t.data_residency) and not common.is_object(t.data_residency) then
      return nil, at .. ".data_residency: must be an object"
    end
    local ws = org:add_workspace {
      id = id, name = t.name, created_at = created, archived_at = archived,
      display_color = present(t.display_color) and t.display_color or nil,
      tags = present(t.tags) and t.tags or nil, data_residency = present(t.data_residency) and t.data_residency or nil,
      external_key_id = present(t.external_key_id) and t.external_key_id or nil,
    }
    local members
    members, err = list_of(t, "members")
    if not members then return nil, at .. "." .. err end
    for j, m in ipairs(members) do
      local ok, e = add_member(org, ws, m, at .. ".members." .. (j - 1))
      if not ok then return nil, e end
    end
  end
  local members
  members, err = list_of(seed, "members")
  if not members then return nil, err end
  for j, m in ipairs(members) do
    local at = "members." .. (j - 1)
    local ws = type(m) == "table" and org:find_workspace(m.workspace_id or m.workspace)
    if not ws then return nil, at .. ".workspace_id: no such workspace" end
    local ok, e = add_member(org, ws, m, at)
    if not ok then return nil, e end
  end
  return true
end

local function add_invites(org, seed, now)
  local list, err = list_of(seed, "invites")
  if not list then return nil, err end
  for i, t in ipairs(list) do
    local at = "invites." .. (i - 1)
    if type(t) ~= "table" then return nil, at .. ": must be an object" end
    if not str(t.email) then return nil, at .. ".email: required" end
    if not in_list(t.role, store.ORG_ROLES) then
      return nil, at .. ".role: should be one of " .. table.concat(store.ORG_ROLES, ", ")
    end
    local status = present(t.status) and t.status or "pending"
    if not in_list(status, store.INVITE_STATUSES) then
      return nil, at .. ".status: should be one of " .. table.concat(store.INVITE_STATUSES, ", ")
    end
    local id
    id, err = seed_id(org.d.invites, "invite_", t.id, "invite:" .. t.email)
    if not id then return nil, at .. ".id: " .. err end
    local invited, expires, accepted
    invited, err = time_field(t, "invited_at", now, at, nil)
    if err then return nil, err end
    if status == "expired" and not invited then invited = now - (store.INVITE_DAYS + 1) * 86400 end
    expires, err = time_field(t, "expires_at", now, at)
    if err then return nil, err end
    accepted, err = time_field(t, "accepted_at", now, at)
    if err then return nil, err end
    if status == "accepted" and not accepted then accepted = invited or now end
    -- "expired" is derived from expires_at; a seed may say it directly
    local stored = status == "expired" and "pending" or status
    local inv = org:add_invite { id = id, email = t.email, role = t.role, status = stored, invited_at = invited,
                                 expires_at = expires, accepted_at = accepted }
    if status == "expired" and inv.expires_at > now then inv.expires_at = now end
  end
  return true
end

-- Adds API keys (seed entries or the control endpoint's). opts.secrets: collect generated or
-- given secrets here. -> list of keys | nil, message
function M.add_api_keys(org, list, now, where, opts)
  opts = opts or {}
  local added = {}
  for i, t in ipairs(list) do
    local at = where .. "." .. (i - 1)
    if type(t) ~= "table" then return nil, at .. ": must be an object" end
    if not str(t.name) then return nil, at .. ".name: required" end
    local ws_id
    if present(t.workspace_id) then
      local ws = org:find_workspace(t.workspace_id)
      if not ws then return nil, at .. ".workspace_id: no workspace " .. tostring(t.workspace_id) end
      ws_id = ws.id
    end
    local status = present(t.status) and t.status or "active"
    if not in_list(status, store.KEY_STATUSES) then
      return nil, at .. ".status: should be one of " .. table.concat(store.KEY_STATUSES, ", ")
    end
    local by
    if present(t.created_by) then
      local u = org:find_user(t.created_by)
      if not u then return nil, at .. ".created_by: no user " .. tostring(t.created_by) end
      by = u.id
    end
    local created, expires, err
    created, err = time_field(t, "created_at", now, at)
    if err then return nil, err end
    expires, err = time_field(t, "expires_at", now, at)
    if err then return nil, err end
    if status == "expired" then
      status = "active"
      expires = math.min(expires or now, now)
    end
    local id
    id, err = seed_id(org.d.keys, "apikey_", t.id, "api_key:" .. t.name .. ":" .. (opts.salt or "") .. i)
    if not id then return nil, at .. ".id: " .. err end
    local secret = t.key
    if present(secret) and (type(secret) ~= "string" or secret == "" or secret:find("[%s%c]")) then
      return nil, at .. ".key: must be a non-empty string without whitespace"
    end
    if not present(secret) and opts.generate then secret = store.new_secret() end
    local k = org:add_api_key { id = id, name = t.name, workspace_id = ws_id, status = status, created_at = created,
                                created_by = by, expires_at = expires,
                                hint = present(t.partial_key_hint) and t.partial_key_hint or nil }
    if present(secret) then
      if org.d.secrets[secret] then return nil, at .. ".key: the same key is given twice" end
      org:own_secret(secret, k)
      if opts.secrets then opts.secrets[#opts.secrets + 1] = secret end
    elseif not k.hint then
      k.hint = "sk-ant-api03-" .. util.stable_id("", k.id, 3) .. "..." .. util.stable_id("", k.id .. "h", 2) .. "AA"
    end
    added[#added + 1] = k
  end
  return added
end

local TOKEN_FIELDS = { "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_5m_input_tokens",
                       "cache_creation_1h_input_tokens", "web_search_requests" }

-- Checks usage records (seed or POST /_emulator/usage) and adds them. -> count | nil, message
function M.add_usage(org, list, now, where)
  local checked = {}
  for i, t in ipairs(list) do
    local at = where .. "." .. (i - 1)
    if type(t) ~= "table" then return nil, at .. ": must be an object" end
    local time, err = common.seed_time(t.time, now, at .. ".time")
    if not time then return nil, err end
    if not str(t.model) then return nil, at .. ".model: required" end
    local u = { time = time, model = t.model }
    if present(t.api_key_id) then
      local k = org:find_api_key(t.api_key_id)
      if not k then return nil, at .. ".api_key_id: no API key " .. tostring(t.api_key_id) end
      u.api_key_id, u.workspace_id = k.id, k.workspace_id
    end
    if t.workspace_id ~= nil then
      if present(t.workspace_id) then
        local ws = org:find_workspace(t.workspace_id)
        if not ws then return nil, at .. ".workspace_id: no workspace " .. tostring(t.workspace_id) end
        u.workspace_id = ws.id
      else
        u.workspace_id = nil
      end
    end
    if present(t.account_id) then -- the user the usage is attributed to (id or e-mail; or a removed user's id)
      local user = org:find_user(t.account_id)
      if not user and not (str(t.account_id) and t.account_id:match("^user_")) then
        return nil, at .. ".account_id: no user " .. tostring(t.account_id)
      end
      u.account_id = user and user.id or t.account_id
    end
    if present(t.service_account_id) then
      if not (str(t.service_account_id) and t.service_account_id:match("^svac_")) then
        return nil, at .. ".service_account_id: a service account id svac_... expected"
      end
      u.service_account_id = t.service_account_id
    end
    local cc = type(t.cache_creation) == "table" and t.cache_creation or {}
    local from_cc = { cache_creation_5m_input_tokens = cc.ephemeral_5m_input_tokens,
                      cache_creation_1h_input_tokens = cc.ephemeral_1h_input_tokens }
    for _, f in ipairs(TOKEN_FIELDS) do
      local n = t[f]
      if n == nil then n = from_cc[f] end
      if present(n) then
        if not common.is_int(n) or n < 0 then return nil, at .. "." .. f .. ": must be an integer >= 0" end
        u[f] = n
      end
    end
    for _, f in ipairs({ { "service_tier", reports.SERVICE_TIERS }, { "inference_geo", reports.INFERENCE_GEOS },
                         { "context_window", reports.CONTEXT_WINDOWS }, { "speed", reports.SPEEDS } }) do
      local v = t[f[1]]
      if present(v) then
        if not in_list(v, f[2]) then
          return nil, at .. "." .. f[1] .. ": should be one of " .. table.concat(f[2], ", ")
        end
        u[f[1]] = v
      end
    end
    checked[#checked + 1] = org:normalize_usage(u)
  end
  for _, u in ipairs(checked) do org:add_usage(u) end
  return #checked
end

function M.add_claude_code(org, list, now, where)
  local checked = {}
  for i, t in ipairs(list) do
    local rec, err = reports.claude_code_record(t, now, where .. "." .. (i - 1))
    if not rec then return nil, err end
    checked[#checked + 1] = rec
  end
  for _, rec in ipairs(checked) do org.d.claude_code[#org.d.claude_code + 1] = rec end
  return #checked
end

local KNOWN = common.set { "organization", "users", "workspaces", "members", "invites", "api_keys", "usage",
                          "claude_code", "workspace_rate_limits", "merge" }

-- Builds the store a seed describes: a new one, or (merge) a copy of `base` with the seed's
-- objects added. Keys with secrets are not registered yet: call store:activate(old).
-- -> store | nil, message
function M.build(base, seed, merge)
  if not common.is_object(seed) then return nil, "seed: must be an object" end
  for k in pairs(seed) do
    if not KNOWN[k] then return nil, "seed: unknown field " .. tostring(k) end
  end
  local org = merge and base:copy() or base:blank()
  local now = org:now()
  local o = seed.organization
  if present(o) then
    if not common.is_object(o) then return nil, "organization: must be an object" end
    if present(o.id) and not str(o.id) then return nil, "organization.id: must be a string" end
    if present(o.name) and not str(o.name) then return nil, "organization.name: must be a string" end
  end
  if not merge then
    org.d.org = { id = base.emu.default_organization_id, name = M.ORGANIZATION_NAME }
  end
  if present(o) then
    if present(o.id) then org.d.org.id = o.id end
    if present(o.name) then org.d.org.name = o.name end
  end
  local ok, err = add_users(org, seed, now)
  if ok then ok, err = add_workspaces(org, seed, now) end
  if ok then ok, err = add_invites(org, seed, now) end
  local steps = {
    { "api_keys", function(list)
        return M.add_api_keys(org, list, now, "api_keys", { salt = merge and tostring(org.d.seq) or "" })
      end },
    { "usage", function(list) return M.add_usage(org, list, now, "usage") end },
    { "claude_code", function(list) return M.add_claude_code(org, list, now, "claude_code") end },
  }
  for _, step in ipairs(steps) do
    if not ok then break end
    local list
    list, err = list_of(seed, step[1])
    if list then
      ok, err = step[2](list)
    else
      ok = nil
    end
  end
  if ok then
    local list
    list, err = list_of(seed, "workspace_rate_limits")
    ok = list ~= nil
    for i, t in ipairs(list or {}) do
      local at = "workspace_rate_limits." .. (i - 1)
      if type(t) ~= "table" then
        ok, err = nil, at .. ": must be an object"
      else
        ok, err = rate_limits.add_override(base.emu, org, t, at)
      end
      if not ok then break end
    end
  end
  if not ok then return nil, err end
  return org
end

---------------------------------------------------------------------------------------------------
-- Seed files

-- Reads a seed: a .lua file returning a table, or a JSON file. -> table | nil, message
function M.load_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot read seed: " .. tostring(err) end
  local text = f:read("*a")
  f:close()
  if path:match("%.lua$") then
    local chunk
    local env = setmetatable({}, { __index = { os = { time = os.time, date = os.date }, string = string,
                                               table = table, math = math, ipairs = ipairs, pairs = pairs,
                                               tostring = tostring, tonumber = tonumber } })
    local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")
    if setfenv then -- Lua 5.1
      chunk, err = loadstring(text, "=" .. path)
      if chunk then setfenv(chunk, env) end
    else
      chunk, err = load(text, "=" .. path, "t", env)
    end
    if not chunk then return nil, "seed: " .. tostring(err) end
    local ok, v = pcall(chunk)
    if not ok then return nil, "seed: " .. tostring(v) end
    if type(v) ~= "table" then return nil, "seed: " .. path .. " must return a table" end
    return v
  end
  local v, e = json.decode(text)
  if type(v) ~= "table" then return nil, "seed: " .. path .. ": " .. tostring(e or "not a JSON object") end
  return v
end

return M
