-- Test helper for the reconcile specs: an emulator with an admin key, and plan/apply of an
-- organization file given as text.
--
--   local rh = require "helpers.reconcile"
--   local org
--   lazy_setup(function() org = rh.start() end)
--   lazy_teardown(function() org:stop() end)
--   before_each(function() org:reset() end)
--   local plan = org:plan('workspace "w" {}')            -- raises on a plan error
--   assert.same({ '+ workspace "w"' }, rh.changes(plan))
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local reconcile = require "anthropic.reconcile"
local util = require "helpers.util"

local M = {}

local Org = {}
Org.__index = Org

function M.start(opts)
  opts = opts or {}
  local key = emulator.make_key("admin01")
  local keys = { key }
  for _, k in ipairs(opts.keys or {}) do keys[#keys + 1] = k end
  local emu = emulator.start { keys = keys, seed = opts.seed }
  return setmetatable({ emu = emu, admin_key = key }, Org)
end

function Org:stop()
  self.emu:stop()
  if self.tmp then util.rmdir(self.tmp) end
end

function Org:reset()
  self.emu:reset()
end

function Org:admin(opts)
  local o = { api_key = self.admin_key, base_url = self.emu.url }
  for k, v in pairs(opts or {}) do o[k] = v end
  return anthropic.admin(o)
end

function M.config(text)
  local config, err = reconcile.load_string(text, "org.lua")
  if not config then error(tostring(err), 2) end
  return config
end

-- plan(text, opts, client_opts) -> plan | nil, err (client_opts: for anthropic.admin)
function Org:plan(text, opts, client_opts)
  local admin = self:admin(client_opts)
  local plan, err = reconcile.plan(admin, M.config(text), opts)
  admin:close()
  return plan, err
end

-- apply(text, opts, client_opts) -> result (reconcile.apply: done, failed, skipped, plan, after,
-- converged) | nil, err
function Org:apply(text, opts, client_opts)
  local admin = self:admin(client_opts)
  local result, err = reconcile.apply(admin, M.config(text), opts)
  admin:close()
  return result, err
end

-- The live organization read through the Admin API (the raw lists, every page).
function Org:read(path, params)
  local items = {}
  local q = { limit = 1000 }
  for k, v in pairs(params or {}) do q[k] = v end
  while true do
    local res = assert(self.emu:api("GET", path .. emulator.query(q), nil, self.admin_key))
    assert(res.status == 200, path .. ": " .. tostring(res.status) .. " " .. tostring(res.body))
    for _, x in ipairs(res.json.data) do items[#items + 1] = x end
    if not res.json.has_more then break end
    q.after_id = res.json.last_id
  end
  return items
end

function Org:workspaces(include_archived)
  return self:read("/v1/organizations/workspaces", { include_archived = include_archived and "true" or nil })
end

function Org:workspace(name)
  for _, w in ipairs(self:workspaces()) do
    if w.name == name then return w end
  end
end

function Org:users() return self:read("/v1/organizations/users") end
function Org:invites() return self:read("/v1/organizations/invites") end
function Org:keys() return self:read("/v1/organizations/api_keys") end
function Org:members(ws_name)
  return self:read("/v1/organizations/workspaces/" .. self:workspace(ws_name).id .. "/members")
end

function Org:user(email)
  for _, u in ipairs(self:users()) do
    if u.email == email then return u end
  end
end

function Org:key(name)
  for _, k in ipairs(self:keys()) do
    if k.name == name then return k end
  end
end

--- A temp directory for files a test writes (org.lua, plan.json); removed by Org:stop().
function Org:dir()
  self.tmp = self.tmp or util.tmpdir()
  return self.tmp
end

function Org:file(name, text)
  return util.write(self:dir() .. "/" .. name, text, "600")
end

--- Runs `bin/anthropic args...` as a child process with the admin key and the emulator's URL in
-- its environment only (never argv). opts.stdin: text for standard input (default: empty);
-- opts.env: more variables (false unsets). -> stdout, stderr, exit status
function Org:cli(args, opts)
  opts = opts or {}
  local dir = self:dir()
  local env = { ANTHROPIC_ADMIN_KEY = self.admin_key, ANTHROPIC_BASE_URL = self.emu.url, ANTHROPIC_API_KEY = false }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local lines = {}
  for k, v in pairs(env) do
    lines[#lines + 1] = v == false and ("unset " .. k) or ("export " .. k .. "=" .. util.sh_quote(v))
  end
  util.write(dir .. "/env.sh", table.concat(lines, "\n") .. "\n", "600")
  util.write(dir .. "/stdin", opts.stdin or "", "600")
  local qt = util.sh_quote
  local words = { emulator.LUA, "bin/anthropic" }
  for _, a in ipairs(args) do words[#words + 1] = qt(a) end
  local script = string.format(". %s; cd %s && LUA_PATH=%s LUA_CPATH=%s %s <%s >%s 2>%s; echo $? >%s\n",
    qt(dir .. "/env.sh"), qt(emulator.ROOT), qt("./lua/?.lua;./lua/?/init.lua;;"), qt("./build/?.so;;"),
    table.concat(words, " "), qt(dir .. "/stdin"), qt(dir .. "/out"), qt(dir .. "/err"), qt(dir .. "/status"))
  local sh = io.popen("sh -s", "w")
  sh:write(script)
  sh:close()
  local status = tonumber(util.read(dir .. "/status") or "")
  return util.read(dir .. "/out") or "", util.read(dir .. "/err") or "", status
end

-- An address without the id of an existing key: 'workspace "P" key "k" (apikey_01...)' -> 'workspace "P" key "k"'
local function short(address)
  return (address:gsub(" %(apikey_[%w_-]+%)$", ""))
end

-- "SYMBOL ADDRESS" (key ids left out) for each executable action, in plan order.
function M.changes(plan)
  local out = {}
  for _, a in ipairs(plan.actions) do
    if a.executable then out[#out + 1] = a.symbol .. " " .. short(a.address) end
  end
  return out
end

-- The same for each action that is not executable ("?").
function M.notes(plan)
  local out = {}
  for _, a in ipairs(plan.actions) do
    if not a.executable then out[#out + 1] = a.symbol .. " " .. short(a.address) end
  end
  return out
end

-- The first action with this address (with or without the key id).
function M.action(plan, address)
  for _, a in ipairs(plan.actions) do
    if a.address == address or short(a.address) == address then return a end
  end
end

-- The role of user_id in a member list, or nil.
function M.role_of(members, user_id)
  for _, m in ipairs(members) do
    if m.user_id == user_id then return m.workspace_role end
  end
end

return M
