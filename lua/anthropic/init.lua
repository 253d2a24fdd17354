--- lua-anthropic: the Anthropic API from Lua.
--   local anthropic = require "anthropic"
--   local client = anthropic.new()               -- key from ANTHROPIC_API_KEY, or options
--   local msg, err = client.messages:create { model = ..., max_tokens = ..., messages = ... }
-- See docs/getting-started.md.
local core = require "anthropic.core"
local errors = require "anthropic.error"
local transport = require "anthropic.transport"
local resource = require "anthropic.resource"
local endpoints = require "anthropic.endpoints"
local endpoints_admin = require "anthropic.endpoints_admin"
local reports = require "anthropic.reports"
local tasks = require "anthropic.tasks"
local batches = require "anthropic.batches"

local M = { VERSION = core.VERSION }

--- Whether libcurl frees its buffers (request headers, the key's among them) through the wiping
-- allocator: false when the host process initialised libcurl before this module (docs/keys.md).
function M.libcurl_wiping() return core.libcurl_wiping() end

local Client = {}
Client.__index = Client
Client.__name = "anthropic.client"

-- client.close() instead of client:close() would otherwise fail on a nil self, unclearly.
local function check_client(self, name)
  if getmetatable(self) ~= Client then
    error("client:" .. name .. " must be called with a colon: client:" .. name .. "()", 3)
  end
end

function Client:__tostring()
  return "anthropic.client (" .. tostring(self._transport) .. ")"
end

--- Close the client: wipes its key; later calls fail with kind "config". Idempotent; also __close.
function Client:close()
  check_client(self, "close")
  self._transport:close()
end
Client.__close = Client.close

--- The hint of the key in use ("sk-ant-api03-R2D...igAA"), loading it if needed -> hint | nil, err.
function Client:key_hint()
  check_client(self, "key_hint")
  local key, err = self._transport:key()
  if not key then return nil, err end
  return key:hint()
end

--- What this client spent on Messages answers (spend_limit, guard.lua) ->
-- { usd = "0.012345", requests = n, unpriced = n, limit_usd = n | nil }; zeros without a guard.
function Client:spend()
  check_client(self, "spend")
  local g = self._transport.guard
  if not g then return { usd = "0.000000", requests = 0, unpriced = 0 } end
  return g:spend()
end

--- The Messages API client. Options: see docs/getting-started.md.
function M.new(opts)
  local t = transport.new(opts, "messages", "anthropic.new")
  local c = setmetatable({ _transport = t }, Client)
  local extras = { batches = batches.extras(t) } -- methods that are more than one request
  for name, eps in pairs(endpoints) do c[name] = resource.build(t, name, eps, extras[name]) end
  return c
end

--- The Admin API client (admin key, from ANTHROPIC_ADMIN_KEY or the same options as new).
-- See docs/admin.md.
function M.admin(opts)
  local t = transport.new(opts, "admin", "anthropic.admin")
  local c = setmetatable({ _transport = t, reports = reports }, Client)
  for name, eps in pairs(endpoints_admin) do c[name] = resource.build(t, name, eps) end
  return c
end

M.reports = reports

--- An explicit JSON null in a request (answers read a null member as absent): for example
-- { type = "requests_per_minute", value = anthropic.null } clears a workspace's override.
M.null = require("anthropic.json").null
M.spawn, M.poll, M.run = tasks.spawn, tasks.poll, tasks.run
M.pollfd, M.timeout, M.pollable = tasks.pollfd, tasks.timeout, tasks.pollable
M.is_error = errors.is_error
M.error = errors.new

return M
