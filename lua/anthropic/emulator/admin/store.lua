-- The state of the emulated organization: users, invites, workspaces and their members, API
-- keys, workspace rate-limit overrides, usage records (served traffic and injected history) and
-- Claude Code records. Everything is in self.d, a plain table, so that a seed can be applied to a
-- copy and swapped in only when it is valid.
--
-- Times are Unix seconds from the emulator clock (emu:now()). Lists are kept in maps by id; each
-- object has a `seq` (creation order) used to break ties between equal times.
local util = require "anthropic.emulator.util"

local M = {}
local Store = {}
Store.__index = Store

M.ORG_ROLES = { "user", "developer", "billing", "admin", "claude_code_user" }
M.SETTABLE_ROLES = { "user", "developer", "billing", "claude_code_user" }
M.WORKSPACE_ROLES = { "workspace_user", "workspace_developer", "workspace_restricted_developer",
                      "workspace_admin", "workspace_billing" }
M.KEY_STATUSES = { "active", "inactive", "archived", "expired" }
M.INVITE_STATUSES = { "pending", "accepted", "expired", "deleted" }
M.INVITE_DAYS = 21
M.GEOS = { "global", "us" }
M.COLORS = { "#6C5BB9", "#D4A27F", "#C2C8F4", "#E3A9C1", "#8CB4A4", "#D97757", "#9AB8E0", "#CC785C" }

local function empty_data()
  return {
    org = { id = "", name = "" },
    users = {}, invites = {}, workspaces = {}, members = {}, keys = {},
    usage = {}, -- usage buckets, oldest first: one per (UTC minute, dimensions), tokens summed
    usage_index = {}, -- bucket key -> bucket in usage
    claude_code = {}, ws_limits = {},
    secrets = {}, -- secret -> api key id, for keys the org registered (seed or control endpoint)
    seq = 0,
  }
end

function M.new(emu)
  return setmetatable({ emu = emu, d = empty_data() }, Store)
end

local function deep_copy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local c = setmetatable({}, getmetatable(v))
  seen[v] = c
  for k, x in pairs(v) do c[deep_copy(k, seen)] = deep_copy(x, seen) end
  return c
end

-- A store with a copy of this one's data (for an all-or-nothing merge).
function Store:copy()
  return setmetatable({ emu = self.emu, d = deep_copy(self.d) }, Store)
end

-- A store with the same emulator and no objects.
function Store:blank()
  return setmetatable({ emu = self.emu, d = empty_data() }, Store)
end

function Store:now()
  return math.floor(self.emu:now())
end

function Store:next_seq()
  self.d.seq = self.d.seq + 1
  return self.d.seq
end

-- A new random id with the real API's look: prefix .. "01" .. 22 alphanumerics.
function Store:new_id(prefix, map) -- luacheck: ignore 212/self
  while true do
    local id = util.random_id(prefix .. "01", 22)
    if not map[id] then return id end
  end
end

function Store:color_for(id) -- luacheck: ignore 212/self
  return M.COLORS[util.hash(id) % #M.COLORS + 1]
end

---------------------------------------------------------------------------------------------------
-- Lookups

function Store:user(id)
  return type(id) == "string" and self.d.users[id] or nil
end

function Store:user_by_email(email)
  if type(email) ~= "string" then return nil end
  email = email:lower()
  for _, u in pairs(self.d.users) do
    if u.email:lower() == email then return u end
  end
end

-- A user by id or e-mail address.
function Store:find_user(ref)
  return self:user(ref) or self:user_by_email(ref)
end

function Store:workspace(id)
  return type(id) == "string" and self.d.workspaces[id] or nil
end

-- A workspace by id or name (an active one first).
function Store:find_workspace(ref)
  if type(ref) ~= "string" then return nil end
  local w = self.d.workspaces[ref]
  if w then return w end
  local archived
  for _, x in pairs(self.d.workspaces) do
    if x.name == ref then
      if not x.archived_at then return x end
      archived = x
    end
  end
  return archived
end

-- The active workspace named name, other than except (for the uniqueness rule).
function Store:active_named(name, except)
  for _, w in pairs(self.d.workspaces) do
    if w ~= except and not w.archived_at and w.name == name then return w end
  end
end

function Store:api_key(id)
  return type(id) == "string" and self.d.keys[id] or nil
end

function Store:find_api_key(ref)
  local k = self:api_key(ref)
  if k then return k end
  for _, x in pairs(self.d.keys) do
    if x.name == ref then return x end
  end
end

function Store:invite(id)
  return type(id) == "string" and self.d.invites[id] or nil
end

-- The values of a map as a list, newest first by `field`.
function Store:sorted(map, field) -- luacheck: ignore 212/self
  local list = {}
  for _, v in pairs(map) do list[#list + 1] = v end
  table.sort(list, function(a, b)
    if a[field] ~= b[field] then return a[field] > b[field] end
    return a.seq > b.seq
  end)
  return list
end

---------------------------------------------------------------------------------------------------
-- Derived state

function Store:is_admin(user) -- luacheck: ignore 212/self
  return user ~= nil and user.role == "admin"
end

-- An invite's status now: a pending invite past expires_at is expired.
function Store:invite_status(inv)
  if inv.status == "pending" and self:now() >= inv.expires_at then return "expired" end
  return inv.status
end

-- A key's status now: an active or inactive key past expires_at is expired.
function Store:key_status(k)
  if k.status == "archived" or k.status == "expired" then return k.status end
  if k.expires_at and self:now() >= k.expires_at then return "expired" end
  return k.status
end

-- The membership of user in workspace ws: explicit, or implicit workspace_admin for an org
-- admin. -> { role, implicit } | nil
function Store:member(ws, user)
  if not ws or not user then return nil end
  if self:is_admin(user) then return { role = "workspace_admin", implicit = true } end
  local m = (self.d.members[ws.id] or {})[user.id]
  if m then return { role = m.role } end
end

-- Every member of ws (explicit members and org admins), in the users' order (newest first).
function Store:members_of(ws)
  local out = {}
  for _, u in ipairs(self:sorted(self.d.users, "added_at")) do
    local m = self:member(ws, u)
    if m then out[#out + 1] = { user_id = u.id, workspace_id = ws.id, role = m.role, implicit = m.implicit } end
  end
  return out
end

---------------------------------------------------------------------------------------------------
-- Changes (callers validate first)

function Store:add_user(t)
  local u = {
    id = t.id or self:new_id("user_", self.d.users), email = t.email, name = t.name or t.email:match("^[^@]*"),
    role = t.role or "user", added_at = t.added_at or self:now(), seq = self:next_seq(),
  }
  self.d.users[u.id] = u
  return u
end

function Store:remove_user(u)
  self.d.users[u.id] = nil
  for _, members in pairs(self.d.members) do members[u.id] = nil end
end

function Store:add_invite(t)
  local invited = t.invited_at or self:now()
  local inv = {
    id = t.id or self:new_id("invite_", self.d.invites), email = t.email, role = t.role,
    status = t.status or "pending", invited_at = invited,
    expires_at = t.expires_at or invited + M.INVITE_DAYS * 86400, accepted_at = t.accepted_at,
    seq = self:next_seq(),
  }
  self.d.invites[inv.id] = inv
  return inv
end

-- Accepting a pending invite makes a user with its e-mail and role. -> user | nil, message
function Store:accept_invite(inv)
  local status = self:invite_status(inv)
  if status ~= "pending" then return nil, "invite " .. inv.id .. " is " .. status .. ", not pending" end
  if self:user_by_email(inv.email) then return nil, "a user with e-mail " .. inv.email .. " already exists" end
  inv.status, inv.accepted_at = "accepted", self:now()
  return self:add_user { email = inv.email, role = inv.role }
end

function Store:add_workspace(t)
  local id = t.id or self:new_id("wrkspc_", self.d.workspaces)
  local dr = t.data_residency or {}
  local w = {
    id = id, name = t.name, created_at = t.created_at or self:now(), archived_at = t.archived_at,
    display_color = t.display_color or self:color_for(id),
    data_residency = {
      workspace_geo = dr.workspace_geo or "us",
      allowed_inference_geos = dr.allowed_inference_geos or "unrestricted",
      default_inference_geo = dr.default_inference_geo or "global",
    },
    tags = t.tags or {}, external_key_id = t.external_key_id, seq = self:next_seq(),
  }
  self.d.workspaces[id] = w
  return w
end

-- Archiving is final; the workspace's API keys are archived with it.
function Store:archive_workspace(w)
  if w.archived_at then return end
  w.archived_at = self:now()
  for _, k in pairs(self.d.keys) do
    if k.workspace_id == w.id then k.status = "archived" end
  end
end

function Store:set_member(ws, user, role)
  local members = self.d.members[ws.id]
  if not members then
    members = {}
    self.d.members[ws.id] = members
  end
  local m = members[user.id]
  if m then
    m.role = role
  else
    members[user.id] = { role = role, seq = self:next_seq() }
  end
end

function Store:remove_member(ws, user)
  local members = self.d.members[ws.id]
  if members then members[user.id] = nil end
end

-- t: { id?, name, workspace_id?, status?, created_at?, created_by?, expires_at?, hint? }
function Store:add_api_key(t)
  local k = {
    id = t.id or self:new_id("apikey_", self.d.keys), name = t.name, workspace_id = t.workspace_id,
    status = t.status or "active", created_at = t.created_at or self:now(), created_by = t.created_by,
    expires_at = t.expires_at, hint = t.hint, seq = self:next_seq(),
  }
  self.d.keys[k.id] = k
  return k
end

-- A new secret as the Console makes them: "sk-ant-api03-" .. 86 of [A-Za-z0-9_-] .. "AA".
function M.new_secret()
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
  local t = {}
  for i = 1, 86 do
    local j = math.random(1, #alphabet)
    t[i] = alphabet:sub(j, j)
  end
  return "sk-ant-api03-" .. table.concat(t) .. "AA"
end

---------------------------------------------------------------------------------------------------
-- Keys the Messages API accepts (emu.state.keys) and the org's API key objects

-- Records that secret belongs to API key k (registered with the emulator by activate()).
function Store:own_secret(secret, k)
  self.d.secrets[secret] = k.id
  k.hint = k.hint or util.hint(secret)
end

-- Makes this store's secrets valid Messages keys, drops the secrets of `old` (a store being
-- replaced) and gives every other API key the emulator knows (ANTHROPIC_EMULATOR_KEYS,
-- POST /_emulator/keys) an API key object in the default workspace, so that its traffic shows
-- in reports. -> true | nil, message
function Store:activate(old)
  local state = self.emu.state
  if old then
    for secret in pairs(old.d.secrets) do
      if not self.d.secrets[secret] then state:remove_key(secret) end
    end
  end
  for secret, id in pairs(self.d.secrets) do
    local info, err = state:add_key(secret, "api")
    if not info then return nil, err end
    info.org_key_id, info.org_owned = id, true
  end
  self:link_keys()
  return true
end

function Store:link_keys()
  for secret, info in pairs(self.emu.state.keys) do
    if info.kind == "api" and not self.d.secrets[secret] then
      info.org_owned = nil
      local id = util.stable_id("apikey_01", "emulator key " .. info.id, 22)
      if not self.d.keys[id] then
        self:add_api_key { id = id, name = "Emulator key " .. info.id, hint = info.hint }
      end
      info.org_key_id = id
    end
  end
end

-- The workspace id of an API key (emu.state key info), or nil for the default workspace.
function Store:key_workspace(info)
  local k = info.org_key_id and self.d.keys[info.org_key_id]
  return k and k.workspace_id or nil
end

-- Why a Messages request with this key must be refused (401), or nil.
function Store:key_refusal(info)
  local k = info.org_key_id and self.d.keys[info.org_key_id]
  if not k then return nil end
  local status = self:key_status(k)
  if status ~= "active" then return "This API key is " .. status .. "." end
end

---------------------------------------------------------------------------------------------------
-- Usage records

-- Normalizes a usage record in place. Fields: time, api_key_id, workspace_id, model,
-- input_tokens (uncached), output_tokens, cache_read_input_tokens,
-- cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, web_search_requests,
-- service_tier, inference_geo, context_window.
function Store:normalize_usage(u)
  local m = self.emu.models:find(u.model)
  if m then u.model = m.id end
  for _, f in ipairs({ "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_5m_input_tokens",
                       "cache_creation_1h_input_tokens", "web_search_requests" }) do
    u[f] = math.floor(tonumber(u[f]) or 0)
  end
  u.service_tier = u.service_tier or "standard"
  u.inference_geo = u.inference_geo or "global"
  if not u.context_window then
    local prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_5m_input_tokens
      + u.cache_creation_1h_input_tokens
    u.context_window = prompt > 200000 and "200k-1M" or "0-200k"
  end
  return u
end

-- Usage is kept in buckets, not one record per request, so that a long-running emulator stays
-- flat: one bucket per UTC minute (the finest bucket_width the reports offer) and per value of
-- every dimension the reports group or filter by; the counters are summed.
M.USAGE_WIDTH = 60
M.USAGE_DIMS = { "api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo",
                 "speed", "account_id", "service_account_id" }
M.USAGE_SUMS = { "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_5m_input_tokens",
                 "cache_creation_1h_input_tokens", "web_search_requests", "requests" }

local function bucket_key(time, u)
  local parts = { string.format("%d", time) }
  for i, d in ipairs(M.USAGE_DIMS) do parts[i + 1] = u[d] == nil and "\0" or tostring(u[d]) end
  return table.concat(parts, "\1")
end

-- Adds a normalized usage record to its bucket. The list stays sorted by time.
function Store:add_usage(u)
  local time = math.floor(u.time / M.USAGE_WIDTH) * M.USAGE_WIDTH
  local key = bucket_key(time, u)
  local b = self.d.usage_index[key]
  if not b then
    b = { time = time }
    for _, d in ipairs(M.USAGE_DIMS) do b[d] = u[d] end
    for _, f in ipairs(M.USAGE_SUMS) do b[f] = 0 end
    self.d.usage_index[key] = b
    local list = self.d.usage
    local i = #list
    while i > 0 and list[i].time > time do i = i - 1 end
    table.insert(list, i + 1, b)
  end
  for _, f in ipairs(M.USAGE_SUMS) do b[f] = b[f] + (u[f] or (f == "requests" and 1 or 0)) end
  return b
end

-- The number of usage buckets held (introspection: it depends on distinct buckets, not traffic).
function Store:usage_buckets()
  return #self.d.usage
end

-- A served Messages request: { time, key (emu.state key info), model, input_tokens, output_tokens, ... }
function Store:record_usage(u)
  local info = u.key
  u.key = nil
  local k = info and info.org_key_id and self.d.keys[info.org_key_id]
  u.api_key_id = k and k.id or nil
  u.workspace_id = k and k.workspace_id or nil
  self:add_usage(self:normalize_usage(u))
end

return M
