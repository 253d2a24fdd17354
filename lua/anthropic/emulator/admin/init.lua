-- The Admin API (/v1/organizations/*): one module per resource, the organization's state
-- (admin/store.lua), seeds (admin/seed.lua), reports and prices, and control endpoints.
-- Loaded by every emulator through anthropic.emulator.MODULES.
local control = require "anthropic.emulator.control"
local admin_control = require "anthropic.emulator.admin.control"
local seed = require "anthropic.emulator.admin.seed"
local store = require "anthropic.emulator.admin.store"

local M = {}

M.RESOURCES = {
  "anthropic.emulator.admin.organization", "anthropic.emulator.admin.users", "anthropic.emulator.admin.invites",
  "anthropic.emulator.admin.workspaces", "anthropic.emulator.admin.members", "anthropic.emulator.admin.api_keys",
  "anthropic.emulator.admin.rate_limits", "anthropic.emulator.admin.reports",
  "anthropic.emulator.admin.analytics",
}

-- Replaces the organization with what `s` describes (merge: adds to it). -> true | nil, message
function M.replace(emu, s, merge)
  local org, err = seed.build(emu.org, s, merge)
  if not org then return nil, err end
  local old = emu.org
  emu.org = org
  local ok
  ok, err = org:activate(old)
  if not ok then
    emu.org = old
    old:activate(org)
    return nil, err
  end
  emu.organization_id = org.d.org.id
  return true
end

-- Back to the startup seed (POST /_emulator/reset).
function M.reset(emu)
  return M.replace(emu, emu.startup_seed, false)
end

-- register(emu, opts): opts.seed is a seed table or the path of a .json/.lua seed file; without
-- it the organization is seed.DEFAULT. -> true | nil, message
function M.register(emu, opts)
  for _, name in ipairs(M.RESOURCES) do require(name).register(emu) end
  for name, fn in pairs(admin_control.handlers) do control.add(name, fn) end
  local s = opts and opts.seed or seed.DEFAULT
  if type(s) == "string" then
    local err
    s, err = seed.load_file(s)
    if not s then return nil, err end
  end
  emu.startup_seed = s
  emu.org = store.new(emu)
  local ok, err = M.reset(emu)
  if not ok then return nil, "seed: " .. err end
  emu:on_reset(function() assert(M.reset(emu)) end)
  return true
end

return M
