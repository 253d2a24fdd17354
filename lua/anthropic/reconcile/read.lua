--- Reads the live organization through the admin client into a snapshot:
--   { org = {id, name}, users, invites, workspaces (archived too), keys, members = { [ws_id] = list } }
-- Every list is read to its end. Any error aborts the read: an error never means "absent". Lists
-- that contradict each other (a member who is not a user, an id listed twice) abort it too.
-- fingerprint(snapshot) -> a short string that changes when anything a plan depends on changes.
local errors = require "anthropic.error"
local shapes = require "anthropic.shapes"

local M = {}

local PAGE = 1000

--- err with "reading WHAT: " before its message (a new error object).
local function context(err, what)
  if errors.is_error(err) then
    local e = {}
    for k, v in pairs(err) do e[k] = v end
    e.message = "reading " .. what .. ": " .. tostring(err.message)
    return errors.new(e)
  end
  return errors.new { kind = "api", message = "reading " .. what .. ": " .. tostring(err) }
end

M.context = context

local function all(pager, what)
  local list, err = pager:all()
  if not list then return nil, context(err, what) end
  return list
end

---------------------------------------------------------------------------------------------------
-- Consistency. The lists are read one after the other, page by page, and the organization may
-- change in between: someone joins after the users were read and before a workspace's members
-- were. A plan made on such a read would take that member for one the file does not list (and
-- prune them), so a read whose lists contradict each other is an error: try again.

local function inconsistent(problems)
  return errors.new { kind = "decode", retryable = true, message = "inconsistent read of "
    .. "the organization: " .. table.concat(problems, "; ") .. ". It probably changed while it was being read "
    .. "(or the API answered inconsistently): nothing was planned; try again" }
end

-- An id listed twice (pages that overlap) is a problem; -> id -> object
local function index(list, what, problems)
  local by_id = {}
  for _, x in ipairs(list) do
    if by_id[x.id] then
      problems[#problems + 1] = string.format("%s %s is listed twice", what, tostring(x.id))
    end
    by_id[x.id] = x
  end
  return by_id
end

-- The cross-references of the base lists: unique ids, one user per e-mail, every key in a listed
-- workspace (archived ones are listed too). -> problems (a list of texts)
function M.check_base(snap)
  local problems = {}
  index(snap.users, "user", problems)
  index(snap.invites, "invite", problems)
  index(snap.keys, "API key", problems)
  local workspaces = index(snap.workspaces, "workspace", problems)
  local by_email = {}
  for _, u in ipairs(snap.users) do
    local email = (u.email or ""):lower()
    local other = by_email[email]
    if other and other.id ~= u.id then
      problems[#problems + 1] = string.format("users %s and %s have the same e-mail %s", tostring(other.id),
        tostring(u.id), email)
    end
    by_email[email] = u
  end
  for _, k in ipairs(snap.keys) do
    if k.workspace_id and not workspaces[k.workspace_id] then
      problems[#problems + 1] = string.format("API key %s is in workspace %s, which is not in the workspaces list",
        tostring(k.id), tostring(k.workspace_id))
    end
  end
  return problems
end

-- The cross-references of one workspace's members: each user once, each one a listed user.
function M.check_members(snap, id, list)
  local problems, seen, users = {}, {}, {}
  for _, u in ipairs(snap.users) do users[u.id] = u end
  for _, m in ipairs(list) do
    if seen[m.user_id] then
      problems[#problems + 1] = string.format("workspace %s lists member %s twice", id, tostring(m.user_id))
    elseif not users[m.user_id] then
      problems[#problems + 1] = string.format("workspace %s lists member %s, who is not in the users list", id,
        tostring(m.user_id))
    elseif m.workspace_id and m.workspace_id ~= id then
      problems[#problems + 1] = string.format("the members of workspace %s include a membership of workspace %s",
        id, tostring(m.workspace_id))
    end
    seen[m.user_id] = true
  end
  return problems
end

--- The organization without workspace members. -> snapshot | nil, err
function M.base(admin)
  local snap = { members = {}, members_of = {} }
  local org, err = admin.organization:me()
  if not org then return nil, context(err, "the organization (/v1/organizations/me)") end
  snap.org = { id = org.id, name = org.name }
  local steps = {
    { "users", function() return admin.users:list { limit = PAGE } end },
    { "invites", function() return admin.invites:list { limit = PAGE } end },
    { "workspaces", function() return admin.workspaces:list { limit = PAGE, include_archived = true } end },
    { "keys", function() return admin.api_keys:list { limit = PAGE } end },
  }
  for _, step in ipairs(steps) do
    local list
    list, err = all(step[2](), step[1] == "keys" and "API keys" or step[1])
    if not list then return nil, err end
    snap[step[1]] = list
  end
  for _, k in ipairs(snap.keys) do -- API version 2026-10-21 gives scope instead of workspace_id
    k.workspace_id = shapes.key_workspace_id(k)
  end
  local problems = M.check_base(snap)
  if #problems > 0 then return nil, inconsistent(problems) end
  return snap
end

--- Adds the members of the given workspaces to the snapshot. -> snapshot | nil, err
function M.members(admin, snap, ids)
  for _, id in ipairs(ids) do
    if not snap.members[id] then
      local list, err = all(admin.members(id):list { limit = PAGE }, "the members of workspace " .. id)
      if not list then return nil, err end
      local problems = M.check_members(snap, id, list)
      if #problems > 0 then return nil, inconsistent(problems) end
      snap.members[id] = list
      snap.members_of[#snap.members_of + 1] = id
    end
  end
  table.sort(snap.members_of)
  return snap
end

--- The whole read: base, then the members of workspaces `ids`. -> snapshot | nil, err
function M.snapshot(admin, ids)
  local snap, err = M.base(admin)
  if not snap then return nil, err end
  return M.members(admin, snap, ids or {})
end

---------------------------------------------------------------------------------------------------
-- Fingerprint

local function tags_text(tags)
  local keys = {}
  for k in pairs(tags or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = k .. "=" .. tostring(tags[k]) end
  return table.concat(out, ",")
end

-- One line per object, sorted: what a plan was computed from (ids, names, roles, statuses).
function M.canonical(snap)
  local lines = { "org|" .. tostring(snap.org.id) }
  local function add(...)
    local parts = { ... }
    for i, v in ipairs(parts) do parts[i] = tostring(v) end
    lines[#lines + 1] = table.concat(parts, "|")
  end
  for _, u in ipairs(snap.users) do add("user", u.id, (u.email or ""):lower(), u.role) end
  for _, i in ipairs(snap.invites) do add("invite", i.id, (i.email or ""):lower(), i.role, i.status) end
  for _, w in ipairs(snap.workspaces) do add("workspace", w.id, w.name, w.archived_at or "", tags_text(w.tags)) end
  for _, k in ipairs(snap.keys) do add("key", k.id, k.name, k.status, k.workspace_id or "default") end
  for _, id in ipairs(snap.members_of) do
    add("members", id)
    for _, m in ipairs(snap.members[id]) do add("member", id, m.user_id, m.workspace_role) end
  end
  table.sort(lines)
  return table.concat(lines, "\n")
end

-- Two polynomial hashes modulo primes below 2^32 (exact in doubles and integers alike).
local function hash(s, mult, mod)
  local h = 0
  for i = 1, #s do h = (h * mult + s:byte(i)) % mod end
  return h
end

function M.fingerprint(snap)
  local text = M.canonical(snap)
  return string.format("%08x%08x", hash(text, 257, 4294967291), hash(text, 65599, 4294967279))
end

return M
