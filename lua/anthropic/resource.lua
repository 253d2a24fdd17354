--- Builds resource objects (client.messages, client.models, ...) from endpoint descriptions.
local errors = require "anthropic.error"
local compat = require "anthropic.compat"
local pager = require "anthropic.pager"
local checks = require "anthropic.params"
local query = require "anthropic.query"
local stream = require "anthropic.stream"

local M = {}

local function path_names(path)
  local names = {}
  for name in path:gmatch("{([%w_]+)}") do names[#names + 1] = name end
  return names
end

-- Why a path argument is refused, or nil. "." and ".." are refused too: URL parsers (libcurl,
-- servers) resolve them away, so members(ws):delete("..") would address the workspace itself.
local function bad_path_arg(v)
  if type(v) ~= "string" then return "must be a non-empty string (got " .. type(v) .. ")" end
  if v == "" then return "must be a non-empty string (got an empty string)" end
  if v == "." or v == ".." then return "must not be '" .. v .. "' (a dot segment would change the URL's path)" end
end

-- What a method takes after its path arguments (one rule for every method): a POST sends its
-- params as the body, so they must be a table; a POST marked body = false sends no body and
-- takes no params; a GET or DELETE takes an optional table (the query).
local function params_rule(desc)
  if desc.method ~= "POST" then return "optional" end
  return desc.body == false and "none" or "required"
end

-- Raises when the arguments after the path arguments break the rule (level 3: the caller).
-- taken: the argument names, params included unless the rule is "none".
local function check_params(label, taken, rule, params, nargs, ...)
  for i = #taken + 1, nargs do
    if select(i, ...) ~= nil then
      error(string.format("%s: takes %d argument%s, %s(%s); got another one as argument #%d", label, #taken,
        #taken == 1 and "" or "s", label, table.concat(taken, ", "), i), 3)
    end
  end
  if rule == "none" then return end
  if type(params) ~= "table" and (params ~= nil or rule == "required") then
    error(string.format("%s: argument #%d (params) must be a table (got %s)", label, #taken, type(params)), 3)
  end
end

-- The SDK's header params (endpoints.lua HEADER_PARAMS: workspace_id, user_profile_id) taken out
-- of params: -> params (a copy without them when any was given), header lines | nil | nil, message
local function header_params(names, params)
  local lines
  for name, header in pairs(names) do
    local v = params[name]
    if v ~= nil then
      if type(v) ~= "string" or not v:match("^[%w_%-]+$") or #v > 200 then
        -- (the value is not quoted: whatever was put there, a key included, stays out of errors)
        return nil, nil, string.format("%s must be an id such as \"wrkspc_01...\" (letters, digits, _ and -; got "
          .. "%s); it is sent as the %s header", name,
          type(v) == "string" and ("a string of " .. #v .. " bytes that is not one") or type(v), header)
      end
      lines = lines or {}
      lines[#lines + 1] = header .. ": " .. v
    end
  end
  if not lines then return params end
  table.sort(lines)
  local copy = {}
  for k, v in pairs(params) do
    if not names[k] then copy[k] = v end
  end
  return copy, lines
end

-- A method: fn(self, <path args...>, params) -> answer | nil, err (or a pager).
local function method(transport, owner, resource_name, name, desc)
  local names = path_names(desc.path)
  local label = resource_name .. ":" .. name
  local rule = params_rule(desc)
  local taken = { compat.unpack(names) }
  if rule ~= "none" then taken[#taken + 1] = "params" end
  -- A request with a body to a path without arguments (messages:create, count_tokens): the same
  -- spec for every call, the params passed beside it.
  local fixed = #names == 0 and not desc.stream and desc.method ~= "GET" and
    { method = desc.method, path = desc.path, idempotent = desc.idempotent, timeout = desc.timeout,
      metered = desc.metered, paced = desc.paced }
  return function(self, ...)
    if self ~= owner then error(label .. " must be called with a colon: " .. label .. "(...)", 2) end
    local path, params = desc.path, ...
    if #names > 0 then
      local args = { ... }
      for i, pname in ipairs(names) do
        local v = args[i]
        local bad = bad_path_arg(v)
        if bad then error(string.format("%s: argument #%d (%s) %s", label, i, pname, bad), 2) end
        path = path:gsub("{" .. pname .. "}", (query.escape(v):gsub("%%", "%%%%")), 1)
      end
      params = args[#names + 1]
    end
    check_params(label, taken, rule, params, select("#", ...), ...)
    if desc.params then
      local msg
      params, msg = checks.check(desc.params, params)
      if not params then error(label .. ": " .. msg, 2) end
    end
    if desc.check then
      local msg = desc.check(params, transport)
      if msg then return nil, errors.new { kind = "config", message = label .. ": " .. msg } end
    end
    local extra
    if desc.header_params and params then
      local msg
      params, extra, msg = header_params(desc.header_params, params)
      if msg then return nil, errors.new { kind = "config", message = label .. ": " .. msg } end
    end
    if fixed and not extra and not desc.beta then return transport:request(fixed, params) end
    local spec = { method = desc.method, path = path, idempotent = desc.idempotent, timeout = desc.timeout,
      metered = desc.metered, paced = desc.paced, extra_headers = extra, beta = desc.beta }
    if desc.stream then -- the body is params with stream = true (the caller's table is not changed)
      local body = {}
      for k, v in pairs(params or {}) do body[k] = v end
      body.stream = true
      spec.body = body
      return stream.open(transport, spec)
    end
    if desc.method == "GET" then
      if desc.pager then
        return pager.new(desc.pager, params, function(q)
          return transport:request { method = "GET", path = path, query = q, beta = desc.beta }
        end)
      end
      spec.query = params
    else
      spec.body = params
    end
    return transport:request(spec)
  end
end

-- The endpoints with the scope argument's {name} in their paths replaced by value.
local function bind(endpoints, name, value)
  local bound = {}
  for k, desc in pairs(endpoints) do
    if k ~= "scope" then
      local d = {}
      for f, v in pairs(desc) do d[f] = v end
      d.path = desc.path:gsub("{" .. name .. "}", (query.escape(value):gsub("%%", "%%%%")), 1)
      bound[k] = d
    end
  end
  return bound
end

--- A resource object whose methods are built from `endpoints` (name -> description). When
-- endpoints.scope names a path argument, the resource is a function of it instead:
-- resource(value) -> the resource object for that value (admin.members(workspace_id):list()).
function M.build(transport, resource_name, endpoints, extra)
  local scope = endpoints.scope
  if scope then
    return setmetatable({}, { __name = "anthropic." .. resource_name, __call = function(_, value)
      local bad = bad_path_arg(value)
      if bad then error(string.format("%s(%s): %s %s", resource_name, scope, scope, bad), 2) end
      return M.build(transport, resource_name, bind(endpoints, scope, value), extra)
    end, __index = function(_, name) -- admin.members:list() instead of admin.members(id):list()
      error(string.format("%s is called with the %s first: %s(%s):%s(...)", resource_name, scope,
        resource_name, scope, tostring(name)), 2)
    end })
  end
  local r = {}
  for name, desc in pairs(endpoints) do r[name] = method(transport, r, resource_name, name, desc) end
  for name, fn in pairs(extra or {}) do r[name] = fn end
  return setmetatable(r, { __name = "anthropic." .. resource_name })
end

return M
