--- One client's connection to the API: options, the key (loaded lazily, kept in C), the engine
-- (one connection pool), and the request -> decoded answer | nil, err step every method uses.
local core = require "anthropic.core"
local json = require "anthropic.json"
local errors = require "anthropic.error"
local query = require "anthropic.query"
local guard = require "anthropic.guard"
local options = require "anthropic.options"
local versions = require "anthropic.versions"
local compat = require "anthropic.compat"

local M = {}
local Transport = {}
Transport.__index = Transport

-- One engine (one libcurl multi handle and connection pool) for every client of this Lua state,
-- so that anthropic.poll() and the tasks drive a single thing, and connections are shared.
local shared_engine
function M.engine()
  if not shared_engine then shared_engine = core.engine() end
  return shared_engine
end

local VERSION = core.VERSION
local DEFAULT_BASE_URL = "https://api.anthropic.com"

-- The options of anthropic.new and anthropic.admin, as data (the spec fields: options.lua).
-- Times take whole milliseconds at the C level (libcurl), where 0 means "no limit": so no time
-- option may be below 0.001 s, and none above a day. The ranges are in docs/getting-started.md
-- (a spec checks that table against this one).
local function seconds(default)
  return { type = "number", unit = "seconds", min = 0.001, max = 86400, default = default }
end

local function no_key_headers(headers)
  for name in pairs(headers) do
    local lk = name:lower()
    if lk == "x-api-key" or lk == "authorization" then
      return "must not carry the key; use api_key, key_file, key_command or key_fn"
    end
  end
end

-- The schemes libcurl can use for a proxy (socks is socks4). An https:// request goes through
-- any of them as a tunnel: the TLS is end to end, the proxy sees no header (src/route.h).
local PROXY_SCHEMES = { http = true, https = true, socks = true, socks4 = true, socks4a = true, socks5 = true,
  socks5h = true }

local function proxy_url(v)
  if v == true then return "must be a proxy URL, or false for no proxy at all" end
  if v == false then return nil end
  local scheme = v:match("^(%a[%w+.-]*)://[^/?#]")
  if not scheme or not PROXY_SCHEMES[scheme:lower()] then
    -- the value is never quoted: a proxy URL may carry a user name and password
    return "must be a proxy URL such as http://HOST:PORT (https requests go through it as a CONNECT tunnel), "
      .. "https://HOST:PORT or socks5h://HOST:PORT"
      .. (scheme and (" (got scheme '" .. scheme:sub(1, 20) .. "')") or "")
  end
end

-- ca_file / ca_path: what a readable file / a readable directory is; -> nil | why
local function readable_file(path)
  local f, err = io.open(path, "rb")
  if not f then return "cannot be read (" .. err .. "); give a readable PEM file of CA certificates" end
  local ok, rerr = f:read(0)
  f:close()
  if ok == nil and rerr then return "is not a file (" .. rerr .. "); give a PEM file of CA certificates" end
end
local function readable_dir(path)
  local f = io.open(path .. "/.", "rb")
  if not f then return "is not a readable directory; give a directory of CA certificates (prepared with c_rehash)" end
  f:close()
end
M.readable_file, M.readable_dir = readable_file, readable_dir

M.OPTIONS = {
  api_key = { type = "string" }, key_file = { type = "string" }, key_command = { type = "table" },
  key_command_timeout = seconds(10), key_fn = { type = "function" },
  dotenv = { type = { "string", "boolean" } }, base_url = { type = "string", text = "url" },
  timeout = seconds(600), connect_timeout = seconds(5), retry_after_cap = seconds(60),
  stream_deadline = seconds(), -- a stream's total time, from the request to its end
  max_retries = { type = "number", int = true, min = 0, max = 100, default = 2 },
  max_body = { type = "number", int = true, unit = "bytes", min = 1, max = 2 ^ 32, default = "64 MiB" },
  min_speed = { type = "table", items = {
    { name = "bytes_per_second", type = "number", int = true, min = 1, max = 2 ^ 32 },
    { name = "seconds", type = "number", int = true, min = 1, max = 86400 },
  } },
  headers = { type = "table", keys = { type = "string", text = "token" }, values = { type = "string", text = "field" },
    check = no_key_headers },
  beta = { type = "table", each = { type = "string", text = "token" } },
  user_agent = { type = "string", text = "field", nonempty = true },
  log = { type = "function" },
  -- guard.lua: the total is kept in micro-dollars, so a smaller limit would round to nothing
  spend_limit = { type = "table", fields = { usd = { type = "number", min = 0.000001, max = 1e9, required = true } } },
  pace = { type = "boolean" },
  api_version = { type = "string" }, -- the value: versions.check
  -- profiles.lua: a profile of the config file (false: none, not even the default), the file
  profile = { type = { "string", "boolean" }, nonempty = true, check = function(v)
    if v == true then return "must be a profile's name, or false for none" end
  end },
  config_file = { type = "string", nonempty = true },
  -- pacing by requests and tokens (limiter.lua; values: ratelimits.lua)
  rate_limit = require("anthropic.ratelimits").SPEC,
  -- nil: the environment's (https_proxy, ...; never for loopback), false: none (src/route.h)
  proxy = { type = { "string", "boolean" }, text = "url", check = proxy_url },
  -- https: the CAs to trust instead of the system's (else ANTHROPIC_CA_FILE / ANTHROPIC_CA_PATH)
  ca_file = { type = "string", nonempty = true, check = readable_file },
  ca_path = { type = "string", nonempty = true, check = readable_dir },
}

local function option_names()
  local names = {}
  for k in pairs(M.OPTIONS) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, ", ")
end

-- A bad option of anthropic.new or anthropic.admin is raised as an error object of kind "config",
-- whose message says what was wrong and how to fix it (for a number: its range and default).
local function refuse(message)
  errors.raise(errors.new { kind = "config", message = message })
end

local function check_options(opts, ctor)
  local names = {}
  for k in pairs(opts) do
    if not M.OPTIONS[k] then
      refuse(string.format("unknown option '%s' for %s (known options: %s)", tostring(k), ctor, option_names()))
    end
    names[#names + 1] = k
  end
  table.sort(names) -- the same error first on every run
  for _, k in ipairs(names) do
    local msg = options.check(M.OPTIONS[k], opts[k], { "option '", k, "' for " .. ctor })
    if msg then refuse(msg) end
  end
end

-- The API version: the option, else ANTHROPIC_API_VERSION, else the current one. One this
-- library does not know is a config error, raised like a bad option.
local function api_version(opts, ctor, profile)
  local v = opts.api_version
  if v == nil then
    v = os.getenv("ANTHROPIC_API_VERSION")
    if v == "" then v = nil end
  end
  v = v or profile and profile.api_version or versions.DEFAULT
  local why = versions.check(v)
  if why then
    errors.raise(errors.new { kind = "config", message = ctor .. ": " .. why
      .. (opts.api_version == nil and " (from ANTHROPIC_API_VERSION)" or "") })
  end
  return v
end

-- The CAs to trust: the options, else ANTHROPIC_CA_FILE / ANTHROPIC_CA_PATH (when neither option
-- is given; an empty variable counts as unset). A variable that names nothing readable is a
-- config error, raised like a bad option. -> ca_file, ca_path (nil, nil: the system's)
local function ca_options(opts, ctor)
  if opts.ca_file or opts.ca_path then return opts.ca_file, opts.ca_path end
  local found = {}
  for _, v in ipairs { { "ANTHROPIC_CA_FILE", readable_file }, { "ANTHROPIC_CA_PATH", readable_dir } } do
    local value = os.getenv(v[1])
    if value == "" then value = nil end
    local why = value and v[2](value)
    if why then
      errors.raise(errors.new { kind = "config", message = string.format("%s: %s ('%s', from %s) %s",
        ctor, v[1] == "ANTHROPIC_CA_FILE" and "ca_file" or "ca_path", value, v[1], why) })
    end
    found[#found + 1] = value or false
  end
  return found[1] or nil, found[2] or nil
end

-- Adds a beta name to the anthropic-beta line of a header list (one line, comma-separated: the
-- client's own betas stay), or adds the line.
function M.add_beta(lines, name)
  for i, line in ipairs(lines) do
    local v = line:match("^anthropic%-beta: (.*)$")
    if v then
      for b in v:gmatch("[^,%s]+") do
        if b == name then return end
      end
      lines[i] = line .. "," .. name
      return
    end
  end
  lines[#lines + 1] = "anthropic-beta: " .. name
end

local function header_lines(opts, version)
  local lines = {
    "anthropic-version: " .. version,
    "accept: application/json",
    "user-agent: " .. (opts.user_agent or ("anthropic-lua/" .. VERSION)),
  }
  if opts.beta and #opts.beta > 0 then lines[#lines + 1] = "anthropic-beta: " .. table.concat(opts.beta, ",") end
  local names = {}
  for k in pairs(opts.headers or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do lines[#lines + 1] = k .. ": " .. opts.headers[k] end
  return lines
end

-- A NUL byte in api_key: C would take the key as ending there and send a shorter one. Raised as a
-- config error (never quoting the key), like a bad option. Other bytes a key may not hold are
-- refused when it is loaded (kind "key").
local function check_key_text(opts, ctor)
  local at = type(opts.api_key) == "string" and opts.api_key:find("\0", 1, true)
  if at then
    errors.raise(errors.new { kind = "config", message = string.format("%s: option 'api_key' contains a NUL "
      .. "byte at byte %d; a key is one line of printable characters (a NUL would cut it short): check how "
      .. "it was read or pasted", ctor, at) })
  end
end

-- The key source a profile gives ({ key_file = } or { key_command = }), when no option does.
local function profile_key(opts, profile, admin)
  if not profile then return nil end
  if opts.api_key or opts.key_file or opts.key_command or opts.key_fn or opts.dotenv then return nil end
  local file, command = profile.key_file, profile.key_command
  if admin then file, command = profile.admin_key_file, profile.admin_key_command end
  if file then return { key_file = file, field = admin and "admin_key_file" or "key_file" } end
  if command then return { key_command = command, field = admin and "admin_key_command" or "key_command" } end
end

-- ANTHROPIC_LOG: a log function writing to stderr when no log option is given.
local LOG_LEVELS = { debug = 1, info = 2, warn = 3, error = 4 }
local LOG_THRESHOLD = { debug = 1, info = 1, warn = 3 } -- info shows each call's line (level debug) too

--- The log function ANTHROPIC_LOG asks for (debug|info: every call and retry; warn: retries,
-- warnings and errors), writing "anthropic: LEVEL: line" to stderr, or nil when it is unset.
-- Lines reach it scrubbed (Transport:emit). An unknown value is a config error.
function M.env_log()
  local v = os.getenv("ANTHROPIC_LOG")
  if v == nil or v == "" then return nil end
  local threshold = LOG_THRESHOLD[v:lower()]
  if not threshold then
    errors.raise(errors.new { kind = "config", message = "ANTHROPIC_LOG must be debug, info or warn (got '"
      .. v:sub(1, 20):gsub("[^%w_-]", "?") .. "'); unset it for no log" })
  end
  return function(level, line)
    if (LOG_LEVELS[level] or 4) >= threshold then io.stderr:write("anthropic: ", level, ": ", line, "\n") end
  end
end

--- Make a transport. kind is "messages" or "admin".
function M.new(opts, kind, ctor)
  opts = opts or {}
  if type(opts) ~= "table" then refuse(ctor .. " expects an options table (got " .. type(opts) .. ")") end
  check_options(opts, ctor)
  check_key_text(opts, ctor)
  local admin = kind == "admin"
  -- A profile's settings come after the options and the environment (docs/profiles.md).
  local profile = require("anthropic.profiles").select(opts, ctor)
  if profile then
    local merged = {}
    for k, v in pairs(opts) do merged[k] = v end
    for _, k in ipairs(require("anthropic.profiles").TRANSPORT_FIELDS) do
      if merged[k] == nil then merged[k] = profile[k] end
    end
    if merged.rate_limit == nil then merged.rate_limit = profile.rate_limit end
    opts = merged
  end
  local version = api_version(opts, ctor, profile)
  local env_base = os.getenv("ANTHROPIC_BASE_URL")
  if env_base == "" then env_base = nil end
  local base = opts.base_url or env_base or profile and profile.base_url or DEFAULT_BASE_URL
  if not base:match("^https?://[^/]") then
    refuse(string.format("base_url '%s'%s must start with https:// (or http:// for a local server)", base,
      opts.base_url == nil and " (from ANTHROPIC_BASE_URL)" or ""))
  end
  local ca_file, ca_path = ca_options(opts, ctor)
  local env = admin and { "ANTHROPIC_ADMIN_KEY" } or { "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN" }
  local dotenv = opts.dotenv
  if dotenv == true then dotenv = ".env" elseif dotenv == false then dotenv = nil end
  local t = setmetatable({
    base_url = base:gsub("/+$", ""),
    timeout = opts.timeout or 600,
    connect_timeout = opts.connect_timeout or 5,
    max_retries = opts.max_retries or 2,
    retry_after_cap = opts.retry_after_cap or 60,
    max_body = opts.max_body,
    stream_deadline = opts.stream_deadline,
    min_speed = opts.min_speed and { opts.min_speed[1], opts.min_speed[2] },
    log = opts.log or M.env_log(),
    api_version = version,
    headers = header_lines(opts, version),
    key_opts = {
      api_key = opts.api_key, key_file = opts.key_file, key_command = opts.key_command,
      key_command_timeout = opts.key_command_timeout, key_fn = opts.key_fn,
      env = env, bearer_env = { ANTHROPIC_AUTH_TOKEN = true }, dotenv = dotenv, admin = admin,
    },
    profile = profile,
    -- the profile's key source, used when no option and no environment variable gives a key
    profile_key = profile_key(opts, profile, admin),
    engine = M.engine(),
    guard = guard.new(opts), -- spend_limit / pace (guard.lua); nil when neither is set
    limiter = opts.rate_limit and require("anthropic.limiter").new(opts.rate_limit), -- (limiter.lua)
  }, Transport)
  -- An https client: its CAs go into libcurl's CA cache now, while the host is setting up, so the
  -- first connection does not parse the bundle inside a poll of a frame (engine.c, warm-up)
  if t.base_url:match("^https://") then t.engine:warm_tls(ca_file, ca_path) end
  -- The header lists a request may send, built once: a JSON body adds content-type; a POST
  -- without a body says it has none (else libcurl would announce a form).
  t.headers_json = { compat.unpack(t.headers) }
  t.headers_json[#t.headers_json + 1] = "content-type: application/json"
  t.headers_nobody = { compat.unpack(t.headers) }
  t.headers_nobody[#t.headers_nobody + 1] = "content-type:"
  -- What every request submits the same, in one table reused by each request (engine:submit
  -- copies what it needs before it returns; the per-request fields are cleared after).
  t._submit = {
    connect_timeout = t.connect_timeout, max_retries = t.max_retries, retry_after_cap = t.retry_after_cap,
    max_body = t.max_body, min_speed = t.min_speed and t.min_speed[1],
    min_speed_time = t.min_speed and t.min_speed[2], ca_file = ca_file, ca_path = ca_path,
    proxy = opts.proxy == false and "" or opts.proxy or nil,
  }
  -- A key given as a string moves into C now, so no Lua table keeps it; a bad one is reported
  -- at the first request like every other key problem.
  if opts.api_key then t._key, t._key_err = t:key() end
  return t
end

function Transport:__tostring()
  local key = self.closed and "closed" or self._key and self._key:hint() or "not loaded"
  return string.format("anthropic.transport (%s, key %s)", self.base_url, key)
end

--- The key, loaded at first use (so creating a client never fails on a missing key).
function Transport:key()
  if self.closed then return nil, errors.new { kind = "config", message = "the client is closed" } end
  if self._key then return self._key end
  if self._key_err then return nil, self._key_err end
  local ko = self.key_opts
  local pk = self.profile_key
  if pk then -- the profile's source, unless the environment gives a key (it comes first)
    local from_env
    for _, name in ipairs(ko.env) do
      local v = os.getenv(name)
      if v and v ~= "" then from_env = name end
    end
    if from_env then
      self.key_origin = "environment " .. from_env .. " (before profile " .. self.profile.name .. "'s "
        .. pk.field .. ")"
    else
      ko.key_file, ko.key_command = pk.key_file, pk.key_command
      self.key_origin = "profile " .. self.profile.name .. " " .. pk.field .. " "
        .. (pk.key_file or table.concat(pk.key_command, " ")) .. " (" .. self.profile.file .. ")"
    end
  end
  local key, msg = core.load_key(ko)
  self.key_opts.api_key = nil
  if not key then
    if pk and self.key_origin:match("^profile") then msg = msg .. " (" .. self.key_origin .. ")" end
    return nil, errors.new { kind = "key", message = msg }
  end
  self._key = key
  self.key_opts.api_key, self.key_opts.key_fn = nil, nil -- nothing more to load; drop references
  return key
end

--- Hand a line to the log hook, scrubbed. A hook that raises never breaks the request: its
-- error is reported once on stderr and the hook is off for this client from then on.
function Transport:emit(level, msg)
  local log = self.log
  if not log then return end
  local ok, err = pcall(log, level, core.scrub(msg, self._key))
  if not ok then
    self.log = nil
    local shown, text = pcall(tostring, err)
    io.stderr:write("anthropic: the log function raised an error; this client no longer calls it: ",
      core.scrub(shown and text or "(an error without a message)", self._key), "\n")
  end
end

--- err with every string in it scrubbed (the key, sk-ant- tokens): a server or proxy may echo
-- what it was sent into any field. -> err
function Transport:scrub_error(err)
  local key = self._key
  return errors.scrub(err, function(s) return core.scrub(s, key) end)
end

--- Wait until ready() is true, driving the shared engine. Inside a task (anthropic.spawn) the
-- scheduler replaces this to yield instead of block; everything that waits goes through it.
function M.await(ready)
  local engine = M.engine()
  while not ready() do engine:wait(1) end
end

local STATUS_TYPES = {
  [400] = "invalid_request_error", [401] = "authentication_error", [402] = "billing_error",
  [403] = "permission_error", [404] = "not_found_error", [409] = "conflict_error",
  [413] = "request_too_large", [429] = "rate_limit_error", [500] = "api_error",
  [504] = "timeout_error", [529] = "overloaded_error",
}

-- The first 200 characters of a page's text, cleaned before "..." is added: a key cut at the
-- end still counts as cut there.
local function text_excerpt(body, clean)
  local text = body:gsub("<[^>]*>", " "):gsub("%s+", " "):gsub("^ ", "")
  if #text > 200 then return clean(text:sub(1, 200)) .. "..." end
  return text
end

-- The error object for an HTTP answer that is not 2xx (its strings not scrubbed yet).
local function api_error(res, spec, clean)
  local body = json.decode(res.body)
  local e = type(body) == "table" and type(body.error) == "table" and body.error or nil
  local details
  if e then
    for k, v in pairs(e) do
      if k ~= "type" and k ~= "message" then
        details = details or {}
        details[k] = v
      end
    end
    if type(e.details) == "table" then details = e.details end
  end
  local message = e and e.message
  if res.status >= 300 and res.status < 400 then
    message = string.format("the server answered %d with a redirect to %s; redirects are never followed "
      .. "(the key must not reach another host): check base_url", res.status, res.headers.location or "?")
  elseif type(message) ~= "string" then
    message = #res.body > 0 and ("HTTP " .. res.status .. " with a non-JSON body: " .. text_excerpt(res.body, clean))
      or ("HTTP " .. res.status .. " with an empty body")
  end
  return errors.new {
    kind = "api", status = res.status,
    type = e and type(e.type) == "string" and e.type or STATUS_TYPES[res.status]
      or (res.status < 400 and "redirect" or "api_error"),
    message = message,
    request_id = res.headers["request-id"] or (type(body) == "table" and body.request_id) or nil,
    workspace_id = res.headers["anthropic-workspace-id"],
    retry_after = res.retry_after, attempts = res.attempts, retryable = res.retryable,
    ambiguous = res.ambiguous, details = details, method = spec.method, path = spec.path,
  }
end

M.api_error, M.text_excerpt = api_error, text_excerpt -- (also for a stream answered with JSON: stream.lua)

--- Turn a finished transfer's result into the decoded answer, or nil and an error object.
-- decoded, decode_err: what t:decoded() gave (it takes the body: res.body is "" then).
function Transport:outcome(res, spec, decoded, decode_err)
  local log = self.log
  if log then
    for i, h in ipairs(res.history) do
      self:emit("warn", string.format("%s %s: attempt %d failed (%s); retrying in %.2fs", spec.method, spec.path,
        i, h.status and ("HTTP " .. h.status) or h.kind, h.delay))
    end
  end
  if res.error then
    self:emit("error", string.format("%s %s: %s", spec.method, spec.path, res.error.message))
    return nil, self:scrub_error(errors.new {
      kind = res.error.kind, message = res.error.message, status = res.status, attempts = res.attempts,
      retryable = res.retryable, ambiguous = res.ambiguous, method = spec.method, path = spec.path,
    })
  end
  local request_id = res.headers["request-id"]
  if log then
    self:emit("debug", string.format("%s %s -> %d (%s, %d attempt%s)", spec.method, spec.path, res.status,
      request_id or "no request-id", res.attempts, res.attempts == 1 and "" or "s"))
  end
  if res.status < 200 or res.status > 299 then
    local key = self._key
    return nil, self:scrub_error(api_error(res, spec, function(text) return core.scrub(text, key) end))
  end
  if spec.raw then return res.body end
  if decoded ~= nil then return M.with_ids(decoded, request_id, res.headers["anthropic-workspace-id"]) end
  local value, msg
  if decode_err then msg = decode_err else value, msg = json.decode(res.body) end
  if value == nil then
    return nil, self:scrub_error(errors.new {
      kind = "decode", status = res.status, request_id = request_id, attempts = res.attempts,
      workspace_id = res.headers["anthropic-workspace-id"],
      message = "the response is not valid JSON (" .. msg .. ")", retryable = false,
    })
  end
  return M.with_ids(value, request_id, res.headers["anthropic-workspace-id"])
end

--- An answer object with its request-id and anthropic-workspace-id headers readable as
-- answer._request_id and answer._workspace_id, as the SDKs have them: through a metatable, so
-- that pairs, json.encode and comparisons see the answer as the API sent it. Lists (a JSON
-- array answer) and answers with a metatable of their own are left as they are. -> value
function M.with_ids(value, request_id, workspace_id)
  if type(value) == "table" and getmetatable(value) == nil and value[1] == nil then
    local ids = { _request_id = request_id, _workspace_id = workspace_id }
    ids.__index = ids
    setmetatable(value, ids)
  end
  return value
end

--- Send one request. spec: method, path, query (table), body (table), idempotent (default true),
-- raw (return the body string). Returns the decoded answer | nil, err.
-- spec.stream: returns the submitted transfer at once (anthropic.stream waits and reads it).
-- spec.lines: the same, for a body read a line at a time (anthropic.lines).
-- value: the body, when not spec.body (so one spec can serve every call of a method).
function Transport:request(spec, value)
  local key, kerr = self:key()
  if not key then return nil, kerr end
  if self.workspace_check == nil and self.profile and self.profile.workspace and not self.key_opts.admin then
    self.workspace_check = "running" -- (its own requests go through an admin client)
    local ok, werr = require("anthropic.profiles").check_workspace(self, key)
    self.workspace_check = ok and "done" or nil
    if not ok then return nil, werr end
  end
  local headers = spec.headers or self.headers -- spec.headers: a bodiless request's own list (batches.lua)
  local body
  if value == nil then value = spec.body end
  if value ~= nil then
    local msg
    body, msg = json.encode(value)
    if not body then
      return nil, errors.new { kind = "config", message = "the request cannot be sent: " .. msg }
    end
    headers = self.headers_json
  elseif spec.method == "POST" then -- no body (workspace archive): curl would announce a form
    headers = self.headers_nobody
  end
  if spec.extra_headers or spec.beta then -- this request's own (header params, an endpoint's beta: resource.lua)
    local all = { compat.unpack(headers) }
    for _, line in ipairs(spec.extra_headers or {}) do all[#all + 1] = line end
    if spec.beta then M.add_beta(all, spec.beta) end
    headers = all
  end
  local path = spec.path
  if spec.query ~= nil then
    local qs = query.build(spec.query)
    if qs then path = path .. "?" .. qs end
  end
  -- The spend guard and pacing see metered requests only (endpoints.lua marks them).
  local g = spec.metered and self.guard
  if g then
    local ok, gerr = g:before()
    if not ok then return nil, gerr end
  end
  -- Pacing sees Messages, and token counting and batch creation in their own groups (spec.paced).
  local lim, reservation = (spec.metered or spec.paced) and self.limiter, nil
  if lim then -- may wait (a task yields meanwhile) until the rate limits have room for it
    local lerr, counted
    local params = value or spec.body
    local group = lim:group(lim:group_key(params, spec.paced))
    if lim.auto and not group.seeded then self:seed_limits(lim, group, params, key) end
    if lim.count_tokens and not spec.paced then counted = self:count_input(params) end
    reservation, lerr = lim:acquire(params, counted, spec.paced)
    if not reservation then return nil, lerr end
  end
  local req = self._submit
  req.method, req.url, req.headers, req.body, req.key = spec.method, self.base_url .. path, headers, body, key
  req.timeout, req.idempotent, req.stream = spec.timeout or self.timeout, spec.idempotent ~= false, spec.stream
  req.lines = spec.lines -- (a 2xx body read a line at a time: lines.lua)
  req.deadline = spec.stream and self.stream_deadline or nil
  local t, msg, kind = self.engine:submit(req)
  req.url, req.body, req.key = nil, nil, nil -- nothing of this request stays referenced
  if not t then
    if lim then lim:settle(reservation) end
    return nil, errors.new { kind = kind, message = msg }
  end
  if spec.stream then
    spec._reservation = reservation -- settled by the stream (stream.lua)
    return t
  end
  if spec.lines then return t end -- (read by lines.lua)
  M.await(function() return t:done() end)
  if spec.on_done then spec.on_done(function(name) return t:header(name) end, t:status()) end -- (doctor.lua)
  if lim then
    local status = t:status()
    local seen = M.ratelimit_headers(t)
    local answer, err = self:finish(t, spec)
    if g then
      g:observe(seen)
      if type(answer) == "table" then g:charge(answer.model, answer.usage) end
    end
    lim:settle(reservation, type(answer) == "table" and answer.usage or nil, status, seen, err and err.retry_after)
    return answer, err
  end
  if g then
    g:observe(function(name) return t:header(name) end)
    local answer, err = self:finish(t, spec)
    if type(answer) == "table" then g:charge(answer.model, answer.usage) end
    return answer, err
  end
  return self:finish(t, spec)
end

local RATELIMIT_HEADERS = { "retry-after" }
for _, family in ipairs { "requests", "input-tokens", "output-tokens" } do
  for _, part in ipairs { "limit", "remaining", "reset" } do
    RATELIMIT_HEADERS[#RATELIMIT_HEADERS + 1] = "anthropic-ratelimit-" .. family .. "-" .. part
  end
end

--- The anthropic-ratelimit-* headers of a transfer, kept past its close: -> header(name)
function M.ratelimit_headers(t)
  local got = {}
  for _, name in ipairs(RATELIMIT_HEADERS) do got[name] = t:header(name) end
  return function(name) return got[name] end
end

--- rate_limit = "auto" with an admin key at hand (profiles.admin_source): the limits of the
-- request's group (group: the limiter's group state; params: the body; key: the C key object),
-- read once per group from the Admin API before its first request: the organization's
-- (GET /v1/organizations/rate_limits?model= or ?group_type=), each lowered by the key's
-- workspace's own (GET /v1/organizations/workspaces/{id}/rate_limits?include_inherited=true), so
-- that a workspace limit below the organization's is kept from the start. The key's workspace is
-- looked up once per client (profiles.key_record). Without an admin key, or when a read fails,
-- the first answer's headers give the limits (one request at a time until then).
function Transport:seed_limits(lim, group, params, key)
  group.seeded = true
  local profiles = require "anthropic.profiles"
  if not profiles.admin_source(self.profile) then return end
  local admin = profiles.admin_for(self)
  if not admin then return end
  local shapes = require "anthropic.shapes"
  local ok = compat.pcall(function() -- (a task may wait in here)
    local which = group.requests_only and { group_type = group.key }
      or { model = type(params) == "table" and params.model or nil }
    local org
    for _, g in ipairs(admin.rate_limits:list(which):all() or {}) do
      local gt = shapes.rate_limit_group_type(g)
      if type(g.limits) == "table" and (gt == "model_group" or gt == group.key) then org = g break end
    end
    if not org then return end
    local limits = {}
    for _, l in ipairs(org.limits) do limits[#limits + 1] = { type = l.type, value = l.value } end
    if self._seed_ws == nil and key then -- the key's workspace (false: the default one, or not known)
      local rec = profiles.key_record(admin, key)
      self._seed_ws = rec and rec.workspace and rec.workspace.id or false
    end
    if self._seed_ws then
      for _, e in ipairs(admin.workspaces:rate_limits(self._seed_ws, { include_inherited = true }):all() or {}) do
        if e.rate_limit_id == org.id and type(e.limits) == "table" then
          for _, wl in ipairs(e.limits) do
            for _, l in ipairs(limits) do
              if l.type == wl.type and compat.is_integer(wl.value) and wl.value < l.value then l.value = wl.value end
            end
          end
        end
      end
    end
    lim:seed(limits, group.key, org.models ~= nil and org.models ~= json.null and org.models or nil)
  end)
  admin:close()
  return ok
end

-- The fields of a Messages body that count_tokens takes.
local COUNT_FIELDS = { "model", "messages", "system", "tools", "tool_choice", "thinking" }

--- A Messages body's input tokens as count_tokens counts them (rate_limit.count_tokens), or nil
-- when it cannot say (the local estimate is used then).
function Transport:count_input(params)
  if type(params) ~= "table" then return nil end
  local body = {}
  for _, k in ipairs(COUNT_FIELDS) do body[k] = params[k] end
  local answer = self:request({ method = "POST", path = "/v1/messages/count_tokens", paced = "token_count" }, body)
  return type(answer) == "table" and compat.is_integer(answer.input_tokens) and answer.input_tokens or nil
end

-- with_ids from a done transfer's headers.
function M.attach_ids(value, t)
  return M.with_ids(value, t:header("request-id"), t:header("anthropic-workspace-id"))
end

-- A done transfer -> the decoded answer | nil, err (closes the transfer).
function Transport:finish(t, spec)
  -- The common case without tables: a 2xx answer, no logging (so no retry lines to write).
  -- A 2xx JSON answer is always decoded where it lies (t:decoded() takes the body), so that an
  -- answer at the max_body cap is never also copied into a Lua string.
  local value, decode_err
  if not spec.raw then
    value, decode_err = t:decoded() -- nil unless a 2xx answer (nil, message when not JSON)
    if value ~= nil and not self.log then
      M.attach_ids(value, t)
      t:close()
      return value
    end
  end
  if not self.log then
    if spec.raw then
      local status, failed = t:status()
      if not failed and status and status >= 200 and status <= 299 then
        local answer = t:body()
        t:close()
        return answer
      end
    end
  end
  local res = t:result()
  t:close()
  return self:outcome(res, spec, value, decode_err)
end

--- Wipe the key and refuse further requests. Idempotent. (The engine is shared: transfers
-- belong to the calls and streams that made them.)
function Transport:close()
  if self._key then self._key:close() end
  self.closed = true
end

return M
