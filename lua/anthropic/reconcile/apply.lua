--- Carrying out a plan's actions, wave by wave, in order. A failed action does not stop the
-- others; actions that wait for a failed create are skipped. Every action is safe to repeat:
-- removing what is already gone is success, and a create that failed (an ambiguous one above all:
-- the server may have made the object) is followed by a read by natural key, and the object is
-- adopted when it exists, before any retry. So a partial apply is resumed by planning and
-- applying again.
--   run(admin, plan, opts) -> result { done = {...}, failed = {...}, skipped = {...} }
-- opts.on_action(action, outcome, detail) is called after each action (outcome "done", "adopted",
-- "failed" or "skipped"); opts.max_attempts (default 3) bounds the tries of a create.
local compat = require "anthropic.compat"
local json = require "anthropic.json"

local M = {}

local function gone(err)
  return err and err.status == 404
end

-- The answer of a delete: what is already gone counts as removed. -> true | nil, err
local function removed(ok, err)
  if ok or gone(err) then return true end
  return nil, err
end

local function retryable(err)
  return err.ambiguous or err.retryable or err.kind == "connection" or err.kind == "timeout"
end

local function find(list, pred)
  for _, x in ipairs(list or {}) do
    if pred(x) then return x end
  end
end

-- Creates through make(), or adopts what find_existing() reads back by natural key.
-- -> object, "done" | "adopted" | nil, err
local function create_or_adopt(make, find_existing, attempts)
  local last
  for _ = 1, attempts do
    local obj, err = make()
    if obj then return obj, "done" end
    last = err
    local existing, rerr = find_existing()
    if existing then return existing, "adopted" end
    if rerr then return nil, rerr end -- cannot tell: leave it to the next run
    if not retryable(err) then break end
  end
  return nil, last
end

local OPS = {}

OPS["invite.create"] = function(admin, a, ctx)
  return create_or_adopt(function()
    return admin.invites:create { email = a.after.email, role = a.after.role,
      rbac_group_ids = a.after.rbac_group_ids }
  end, function()
    local invites, err = admin.invites:list({ email = a.after.email, limit = 1000 }):all()
    if not invites then return nil, err end
    local inv = find(invites, function(i) return i.status == "pending" and i.role == a.after.role end)
    if inv then return inv end
    local users
    users, err = admin.users:list({ email = a.after.email, limit = 1000 }):all()
    if not users then return nil, err end
    return users[1]
  end, ctx.attempts)
end

OPS["invite.reinvite"] = function(admin, a, ctx)
  local ok, err = removed(admin.invites:delete(a.id))
  if not ok then return nil, err end
  return OPS["invite.create"](admin, a, ctx)
end

OPS["invite.delete"] = function(admin, a)
  return removed(admin.invites:delete(a.id))
end

OPS["user.update"] = function(admin, a)
  return admin.users:update(a.id, { role = a.after.role })
end

OPS["user.remove"] = function(admin, a)
  return removed(admin.users:remove(a.id))
end

OPS["workspace.create"] = function(admin, a, ctx)
  local ws, how = create_or_adopt(function()
    return admin.workspaces:create { name = a.after.name, tags = a.after.tags, display_color = a.after.display_color }
  end, function()
    local list, err = admin.workspaces:list({ limit = 1000 }):all()
    if not list then return nil, err end
    return find(list, function(w) return w.name == a.after.name end)
  end, ctx.attempts)
  if ws and how == "adopted" and a.after.tags then -- the create may not have carried the tags
    local tags = {}
    for k, v in pairs(ws.tags or {}) do tags[k] = v end
    for k, v in pairs(a.after.tags) do tags[k] = v end
    local updated, err = admin.workspaces:update(ws.id, { tags = tags })
    if not updated then return nil, err end
  end
  return ws, how
end

OPS["workspace.update"] = function(admin, a)
  local tags = a.after.tags
  if tags then -- the API merges tags: a removed one is sent as null
    local t = {}
    for k, v in pairs(tags) do t[k] = v end
    for k in pairs(type(a.before) == "table" and type(a.before.tags) == "table" and a.before.tags or {}) do
      if t[k] == nil then t[k] = json.null end
    end
    tags = t
  end
  return admin.workspaces:update(a.id, { name = a.after.name, tags = tags,
    display_color = a.after.display_color })
end

OPS["workspace.archive"] = function(admin, a)
  return admin.workspaces:archive(a.id)
end

local function add_role(role)
  -- workspace_billing cannot be given when adding: add, then update
  return role == "workspace_billing" and "workspace_user" or role
end

OPS["workspace_member.add"] = function(admin, a, ctx)
  local members = admin.members(ctx.workspace_id)
  local role = a.after.workspace_role
  local m, how = create_or_adopt(function()
    return members:add { user_id = a.user_id, workspace_role = add_role(role) }
  end, function()
    local got, err = members:get(a.user_id)
    if got then return got end
    if gone(err) then return nil end
    return nil, err
  end, ctx.attempts)
  if not m then return nil, how end
  if m.workspace_role ~= role then
    local updated, err = members:update(a.user_id, { workspace_role = role })
    if not updated then return nil, err end
  end
  return m, how
end

OPS["workspace_member.update"] = function(admin, a, ctx)
  return admin.members(ctx.workspace_id):update(a.user_id, { workspace_role = a.after.workspace_role })
end

OPS["workspace_member.remove"] = function(admin, a, ctx)
  return removed(admin.members(ctx.workspace_id):remove(a.user_id))
end

OPS["api_key.update"] = function(admin, a)
  return admin.api_keys:update(a.id, { name = a.after.name, status = a.after.status })
end

OPS["workspace_rate_limit.update"] = function(admin, a, ctx)
  local value = a.after.value
  if value == nil then value = json.null end -- back to the organization's limit
  return admin.workspaces:update_rate_limits(ctx.workspace_id, a.after.rate_limit_id,
    { limits = { { type = a.after.type, value = value } } })
end

--- Carries out the executable actions of plan (a plan from plan.lua, or a decoded plan.json).
function M.run(admin, plan, opts)
  opts = opts or {}
  local result = { done = {}, failed = {}, skipped = {} }
  local created = {} -- address of a create -> id
  local failed = {}  -- address -> true
  local function report(a, outcome, detail)
    local list = outcome == "failed" and result.failed or outcome == "skipped" and result.skipped or result.done
    list[#list + 1] = { action = a, outcome = outcome, error = outcome == "failed" and detail or nil,
                        reason = outcome == "skipped" and detail or nil }
    if opts.on_action then opts.on_action(a, outcome, detail) end
  end
  for _, a in ipairs(plan.actions) do
    if a.executable then
      local fn = OPS[a.kind .. "." .. a.op]
      local ctx = { attempts = opts.max_attempts or 3 }
      if a.workspace then ctx.workspace_id = a.workspace.id or (a.needs and created[a.needs]) end
      if not fn then
        report(a, "failed", "unknown action " .. a.kind .. "." .. a.op)
      elseif a.needs and failed[a.needs] then
        failed[a.address] = true
        report(a, "skipped", "waits for " .. a.needs .. ", which failed")
      elseif a.workspace and not ctx.workspace_id then
        failed[a.address] = true
        report(a, "skipped", "the workspace id is not known")
      else
        local ok, res, how = compat.pcall(fn, admin, a, ctx) -- (a task may wait in fn)
        if not ok then
          res, how = nil, tostring(res)
        end
        if res then
          if a.op == "create" and type(res) == "table" then created[a.address] = res.id end
          report(a, how == "adopted" and "adopted" or "done")
        else
          failed[a.address] = true
          report(a, "failed", how)
        end
      end
    end
  end
  return result
end

return M
