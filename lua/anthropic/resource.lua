--- Builds resource objects (client.messages, client.models, ...) from endpoint descriptions.
local errors = require "anthropic.error"
local pager = require "anthropic.pager"
local query = require "anthropic.query"

local M = {}

local function path_names(path)
  local names = {}
  for name in path:gmatch("{([%w_]+)}") do names[#names + 1] = name end
  return names
end

-- A method: fn(self, <path args...>, params) -> answer | nil, err (or a pager).
local function method(transport, owner, resource_name, name, desc)
  local names = path_names(desc.path)
  local label = resource_name .. ":" .. name
  return function(self, ...)
    if self ~= owner then error(label .. " must be called with a colon: " .. label .. "(...)", 2) end
    local args = { ... }
    local path = desc.path
    for i, pname in ipairs(names) do
      local v = args[i]
      if type(v) ~= "string" or v == "" then
        error(string.format("%s: argument #%d (%s) must be a non-empty string (got %s)", label, i, pname,
          type(v) == "string" and "an empty string" or type(v)), 2)
      end
      path = path:gsub("{" .. pname .. "}", (query.escape(v):gsub("%%", "%%%%")), 1)
    end
    local params = args[#names + 1]
    if params ~= nil and type(params) ~= "table" then
      error(string.format("%s: argument #%d (params) must be a table (got %s)", label, #names + 1, type(params)), 2)
    end
    if desc.check then
      local msg = desc.check(params)
      if msg then return nil, errors.new { kind = "config", message = label .. ": " .. msg } end
    end
    local spec = { method = desc.method, path = path, idempotent = desc.idempotent, timeout = desc.timeout }
    if desc.method == "GET" then
      if desc.pager then
        return pager.new(desc.pager, params, function(q)
          return transport:request { method = "GET", path = path, query = q }
        end)
      end
      spec.query = params
    else
      spec.body = params
    end
    return transport:request(spec)
  end
end

--- A resource object whose methods are built from `endpoints` (name -> description).
function M.build(transport, resource_name, endpoints, extra)
  local r = {}
  for name, desc in pairs(endpoints) do r[name] = method(transport, r, resource_name, name, desc) end
  for name, fn in pairs(extra or {}) do r[name] = fn end
  return setmetatable(r, { __name = "anthropic." .. resource_name })
end

return M
