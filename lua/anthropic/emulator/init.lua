-- anthropic.emulator: a local, stateful Anthropic-compatible API on 127.0.0.1, for the demo,
-- the examples and the tests. See docs/emulator.md.
--
--   local emulator = require "anthropic.emulator"
--   local emu = assert(emulator.start{ port = 0, keys = { key }, verbose = false })
--   print(emu.url)     --> http://127.0.0.1:PORT
--   emu:run()          -- serves until POST /_emulator/shutdown or emu:stop()
--   -- or, inside a host loop: emu:step(0) regularly, emu:close() at the end
--
-- Resource modules (messages, models, ...) register their routes with emu:route(); every request
-- goes through one pipeline: control API | log -> fault -> route -> auth -> version -> handler.
if not math.type then -- (5.3+: integers, utf8, //)
  error("the emulator needs Lua 5.3 or later; this is " .. (rawget(_G, "jit") and rawget(_G, "jit").version or _VERSION)
    .. " (run it with lua5.4: lua5.4 bin/anthropic emulator)", 0)
end
local control = require "anthropic.emulator.control"
local errors = require "anthropic.emulator.errors"
local faults = require "anthropic.emulator.faults"
local http = require "anthropic.emulator.http"
local json = require "anthropic.emulator.json"
local ratelimit = require "anthropic.emulator.ratelimit"
local sse = require "anthropic.emulator.sse"
local state = require "anthropic.emulator.state"
local util = require "anthropic.emulator.util"
local models = require "anthropic.emulator.models"

local M = {}

-- The anthropic-version values the API accepts (https://docs.claude.com/en/api/versioning);
-- messages.lua models what 2026-10-21 refuses. 2023-01-01 is served as 2023-06-01.
local API_VERSIONS = { ["2023-01-01"] = true, ["2023-06-01"] = true, ["2026-10-21"] = true }

-- Modules with a register(emu, opts) function, loaded by every emulator; register may return
-- nil, message to refuse the options (an invalid seed, for instance).
M.MODULES = { "anthropic.emulator.messages", "anthropic.emulator.models", "anthropic.emulator.admin",
              "anthropic.emulator.batches" }

-- Request bodies above this many bytes get a 413 (the real limit for Messages is "32 MB").
M.MAX_BODY = 32000000

M.ORGANIZATION_ID = "2e1a5f6c-0b7d-4c1e-9a53-8f0e6d4b2a17"

local Emulator = {}
Emulator.__index = Emulator

-- new{ keys = { "sk-ant-...", { key = "...", kind = "admin" } }, verbose = bool, out = file,
--      max_body = bytes, ratelimit = { rpm, itpm, otpm },
--      seed = table | "path.json" | "path.lua" (the organization; see docs/emulator.md) }
-- -> emulator (not listening yet) | nil, message
function M.new(opts)
  opts = opts or {}
  local self = setmetatable({
    routes = {}, fallbacks = {}, reset_hooks = {}, clock_offset = 0,
    state = state.new(), models = models.new(), ratelimit = ratelimit.new(opts.ratelimit),
    max_body = opts.max_body or M.MAX_BODY, verbose = opts.verbose, out = opts.out or io.stdout,
    initial_limits = opts.ratelimit, organization_id = M.ORGANIZATION_ID,
    default_organization_id = M.ORGANIZATION_ID,
  }, Emulator)
  for _, k in ipairs(opts.keys or {}) do
    local ok, err
    if type(k) == "table" then ok, err = self.state:add_key(k.key, k.kind) else ok, err = self.state:add_key(k) end
    if not ok then return nil, err end
  end
  for _, name in ipairs(M.MODULES) do
    local _, err = require(name).register(self, opts)
    if err then return nil, err end
  end
  -- Any other path under /v1/organizations/: 404 for admin keys (other keys are refused first).
  self:route("*", "^/v1/organizations/", function()
    return errors.response(404, "Not found")
  end, { auth = "admin", fallback = true })
  return self
end

-- start(opts): new(opts) listening on 127.0.0.1:opts.port (0 or nil: a free port); HTTPS with
-- opts.tls_dir (see listen).
-- -> emulator (emu.url, emu.port) | nil, message
function M.start(opts)
  if type(opts) ~= "table" or not ((type(opts.keys) == "table" and #opts.keys > 0) or opts.no_keys) then
    -- an emulator without keys answers every request 401: say so now, with the fix
    return nil, "emulator.start: no keys: give the keys clients will use, keys = { key, { key = admin_key, "
      .. "kind = \"admin\" } }, or no_keys = true to add them later (POST /_emulator/keys)"
  end
  local self, err = M.new(opts)
  if not self then return nil, err end
  local ok
  ok, err = self:listen(opts and opts.port, opts and opts.tls_dir)
  if not ok then return nil, err end
  return self
end

-- listen(port [, tls_dir]): tls_dir holds cert.pem and key.pem (emulator/tls.lua makes them):
-- then HTTPS, and emu.url starts with https://.
function Emulator:listen(port, tls_dir)
  local ctx, err
  if tls_dir then
    ctx, err = require("anthropic.emulator.tls").context(tls_dir)
    if not ctx then return nil, err end
  end
  local server
  server, err = http.listen {
    host = "127.0.0.1", port = port or 0, tls = ctx,
    handler = function(conn) self:serve(conn) end,
    on_error = function(msg) io.stderr:write("emulator: ", (self.state:redact(msg)), "\n") end,
  }
  if not server then return nil, err end
  self.server, self.port = server, server.port
  self.url = (ctx and "https" or "http") .. "://127.0.0.1:" .. server.port
  return true
end

-- route(method, pattern, handler, opts): handler(emu, req) -> response for requests whose path
-- matches the Lua pattern (captures in req.captures). method "*" takes any method.
-- opts.auth: "api" (no admin keys) | "admin" (admin keys only) | nil (any known key);
-- opts.stream_faults: stream_* faults apply when the body has "stream": true;
-- opts.fallback: tried after every other route.
function Emulator:route(method, pattern, handler, opts)
  opts = opts or {}
  local r = { method = method, pattern = pattern, handler = handler, auth = opts.auth,
              stream_faults = opts.stream_faults, line_body = opts.line_body }
  local list = opts.fallback and self.fallbacks or self.routes
  list[#list + 1] = r
end

-- -> route, captures | nil, nil, allowed methods (when the path exists with other methods).
-- A fallback route is tried only when no route has the path.
function Emulator:find_route(method, path)
  local allowed = {}
  for _, list in ipairs({ self.routes, self.fallbacks }) do
    for _, r in ipairs(list) do
      local caps = { path:match(r.pattern) }
      if caps[1] ~= nil then
        if r.method == "*" or r.method == method then return r, caps end
        allowed[#allowed + 1] = r.method
      end
    end
    if #allowed > 0 then break end
  end
  return nil, nil, #allowed > 0 and allowed or nil
end

-- fn() runs on every reset (POST /_emulator/reset).
function Emulator:on_reset(fn)
  self.reset_hooks[#self.reset_hooks + 1] = fn
end

-- Everything back to the start, except the keys (they stay until removed): the organization goes
-- back to its startup seed and the clock to the real time.
function Emulator:reset()
  self.state:reset()
  self.models:reset()
  self.ratelimit:reset(self.initial_limits)
  self.clock_offset = 0
  for _, fn in ipairs(self.reset_hooks) do fn() end
end

-- The emulator clock: the real time plus an offset moved by POST /_emulator/clock. Report
-- records, invite and key expiry and the organization's timestamps use it; rate limits do not.
function Emulator:now()
  return util.now() + self.clock_offset
end

-- Usage of each served Messages request, for usage and cost reports: { key (state key info),
-- model, input_tokens, output_tokens, cache_read_input_tokens?, cache_creation_5m_input_tokens?,
-- cache_creation_1h_input_tokens?, service_tier?, inference_geo?, web_search_requests? }.
function Emulator:record_usage(u)
  u.time = math.floor(self:now())
  self.org:record_usage(u)
end

-- The request body decoded as a JSON object (cached). -> table | nil, 400 response
function Emulator:json_body(req) -- luacheck: ignore 212/self
  if req.json == nil then
    local v, err = json.decode(req.body or "")
    if type(v) ~= "table" then
      req.json = false
      req.json_error = "There was an error parsing the body of your request: "
        .. (v == nil and tostring(err):gsub("^.-: ", "") or "expected a JSON object")
    else
      req.json = v
    end
  end
  if not req.json then return nil, errors.response(400, req.json_error) end
  return req.json
end

function Emulator:stop()
  self.stopping = true
end

function Emulator:step(timeout)
  self.server:step(timeout)
  return not self.stopping
end

-- Serves until stop() (or POST /_emulator/shutdown), then closes.
function Emulator:run()
  -- at most 0.25 s per step, so that a SIGINT (lua.c turns it into an error at the next Lua
  -- instruction) is noticed while idle
  while not self.stopping do self.server:step(0.25) end
  self:close()
end

function Emulator:close()
  if self.server then self.server:close() end
end

---------------------------------------------------------------------------------------------------
-- Writing responses

local function http_date()
  return os.date("!%a, %d %b %Y %H:%M:%S GMT")
end

-- Writes a response head with the headers every response has. -> true | nil, err
function Emulator:head(conn, req, status, headers, keep)
  headers["request-id"] = headers["request-id"] or req.request_id -- a fault may give its own
  headers["date"] = http_date()
  headers["connection"] = keep and "keep-alive" or "close"
  if not req.control then headers["anthropic-organization-id"] = self.organization_id end
  -- the workspace of the API key, on Messages API answers (never on Admin API ones); none for
  -- the default workspace, which has no id
  if req.workspace_id then headers["anthropic-workspace-id"] = req.workspace_id end
  req.status = status
  self:trace(req) -- before the client can see the answer
  return conn:write_head(status, headers)
end

-- Sends a response table { status, headers?, body (table: JSON; string: as is), content_type? }.
-- -> outcome ("sent" | "canceled"), keep_alive
function Emulator:send(conn, req, res)
  local headers = util.copy(res.headers or {})
  local body = res.body or ""
  if type(body) == "table" then
    if body.type == "error" and body.request_id == nil then body.request_id = req.request_id end
    body = json.encode(body)
  end
  -- a reply never carries a key, even one the client sent in a body (raw: a control answer that
  -- shows new secrets once; unredacted: the echo_headers fault, which tests the client's scrubbing)
  if not ((res.raw and req.control) or res.unredacted) then body = self.state:redact(body) end
  headers["content-type"] = headers["content-type"] or res.content_type or "application/json"
  headers["content-length"] = #body
  local keep = req.keep_alive and not self.stopping
  if not (self:head(conn, req, res.status, headers, keep) and conn:write(body)) then
    return "canceled", false
  end
  return "sent", keep
end

-- Sends a response whose .stream is a list of SSE events. -> outcome, keep_alive
function Emulator:send_stream(conn, req, res, fault)
  local headers = util.copy(res.headers or {})
  headers["content-type"] = "text/event-stream; charset=utf-8"
  headers["cache-control"] = "no-cache"
  headers["transfer-encoding"] = "chunked"
  local keep = req.keep_alive and not self.stopping
  if not self:head(conn, req, res.status, headers, keep) then return "canceled", false end
  local s = self.state.stream
  local outcome, ok = sse.write(conn, res.stream, { chunk_size = s.chunk_size, event_delay = s.event_delay,
                                                      text_repeat = s.text_repeat,
                                                      fault = fault, filter = self.state:redactor() })
  return outcome, ok and keep
end

-- A body that is a list of lines (res.lines: JSONL, the results of a batch), sent chunked, about
-- 32 KB a chunk, so a large one goes out as it is written. A stream_* fault counts lines:
-- stream_reset_after K resets the connection after K lines, stream_truncate_after K ends the body
-- there, stream_stall_after K stops sending, stream_error_after K sends a line that is not JSON
-- (a proxy's page spliced in) and ends. -> outcome, keep_alive
function Emulator:send_lines(conn, req, res, fault)
  local headers = util.copy(res.headers or {})
  headers["content-type"] = res.content_type or "application/x-jsonl"
  headers["transfer-encoding"] = "chunked"
  local keep = req.keep_alive and not self.stopping
  if not self:head(conn, req, res.status, headers, keep) then return "canceled", false end
  local lines, redact = res.lines, self.state:redactor()
  local stop = fault and fault.after or math.huge
  local buf, size = {}, 0
  local function flush()
    if #buf == 0 then return true end
    local data = redact(table.concat(buf))
    buf, size = {}, 0
    return conn:write_chunk(data)
  end
  for i = 1, math.min(#lines, stop) do
    buf[#buf + 1] = lines[i] .. "\n"
    size = size + #lines[i] + 1
    if size >= 32768 and not flush() then return "canceled", false end
  end
  if not flush() then return "canceled", false end
  if fault and stop < #lines then
    local action = fault.action
    if action == "stream_reset_after" then
      conn:abort()
      return action, false
    elseif action == "stream_stall_after" then
      conn:wait_gone()
      return "canceled", false
    elseif action == "stream_error_after" then
      if not (conn:write_chunk("<html><body>502 Bad Gateway</body></html>\n") and conn:end_chunks()) then
        return "canceled", false
      end
      return action, keep
    end -- stream_truncate_after: the body ends there
  end
  if not conn:end_chunks() then return "canceled", false end
  return "complete", keep
end

---------------------------------------------------------------------------------------------------
-- The request pipeline

-- Auth, version header, then the handler. -> response
function Emulator:dispatch(req, route, captures, allowed)
  if not route then
    if allowed then
      local res = errors.response(405, "Method " .. req.method .. " is not allowed for " .. req.path)
      res.headers = { allow = table.concat(allowed, ", ") }
      return res
    end
    return errors.response(404, "Not found")
  end
  local key, info = self.state:request_key(req.headers)
  if not key then return errors.response(401, "x-api-key header is required") end
  if not info then return errors.response(401, "invalid x-api-key") end
  if route.auth == "api" and info.kind == "admin" then
    return errors.response(401, "Admin API keys cannot be used for this endpoint; use a standard API key.")
  elseif route.auth == "admin" and info.kind ~= "admin" then
    return errors.response(403, "This endpoint requires an Admin API key (sk-ant-admin...); "
      .. "this key is a standard API key.")
  end
  if info.kind ~= "admin" and self.org then
    local why = self.org:key_refusal(info)
    if why then return errors.response(401, why) end
    req.workspace_id = self.org:key_workspace(info) -- (answered as anthropic-workspace-id)
  end
  local version = req.headers["anthropic-version"]
  if not version then return errors.response(400, "anthropic-version: header is required") end
  if not API_VERSIONS[version] then
    return errors.response(400, string.format("anthropic-version: %q is not a valid version", version))
  end
  req.api_version = version
  req.key_info, req.captures = info, captures
  local ok, res = pcall(route.handler, self, req)
  if not ok then
    io.stderr:write("emulator: handler error: ", (self.state:redact(tostring(res))), "\n")
    return errors.response(500)
  end
  return res
end

-- With verbose: one line per request, "METHOD PATH STATUS KEY-HINT" ("-" when nothing was sent).
function Emulator:trace(req)
  if not self.verbose or req.traced then return end
  req.traced = true
  local key = self.state:request_key(req.headers)
  self.out:write(string.format("%s %s %s%s\n", req.method, req.path, tostring(req.status or "-"),
    key and (" " .. util.hint(key)) or ""))
  self.out:flush()
end

function Emulator:finish(req, entry, outcome)
  if entry then
    entry.status = req.status
    if outcome == "canceled" then entry.canceled = true end
  end
  self:trace(req)
end

-- One request. -> keep_alive
function Emulator:handle(conn, req)
  req.request_id = util.random_id("req_011C", 20)
  req.params = util.parse_query(req.query)
  if req.path == "/_emulator" or req.path:sub(1, 11) == "/_emulator/" then
    req.control = true
    local outcome, keep = self:send(conn, req, control.handle(self, req))
    self:finish(req, nil, outcome)
    return keep
  end
  self.state:count_connection(conn)
  local entry = self.state:log_request(req, conn.id)
  local route, captures, allowed = self:find_route(req.method, req.path)
  local streaming = false
  if route and route.stream_faults then
    local body = self:json_body(req)
    streaming = body and body.stream == true or false
  elseif route and route.line_body then -- (a JSONL body: stream_* faults count its lines)
    streaming = true
  end
  local fault = self.state:take_fault(req.path, streaming, req.method)
  if fault then entry.fault = fault.spec end
  if fault and fault.delay and fault.delay > 0 and not conn:sleep(fault.delay) then
    self:finish(req, entry, "canceled")
    return false
  end
  local outcome, keep
  if fault and fault.action == "apply_then_reset" then
    -- the request takes effect (a create is created), then the client gets a reset, no answer
    local res = self:dispatch(req, route, captures, allowed)
    entry.applied_status = res.status
    conn:abort()
    outcome, keep = "faulted", false
  elseif fault and not fault.stream_only and (fault.status or fault.action) then
    outcome, keep = faults.respond(self, conn, req, fault)
  else
    local res = self:dispatch(req, route, captures, allowed)
    if res.stream then
      outcome, keep = self:send_stream(conn, req, res, fault and fault.stream_only and fault or nil)
    elseif res.lines then
      outcome, keep = self:send_lines(conn, req, res, fault and fault.stream_only and fault or nil)
    else
      outcome, keep = self:send(conn, req, res)
    end
  end
  self:finish(req, entry, outcome)
  return keep
end

-- A connection: requests one after the other until either side closes.
function Emulator:serve(conn)
  while not self.stopping do
    local req, kind, info = conn:read_request { max_body = self.max_body }
    if not req then
      if kind == "too_large" or kind == "bad" then
        local r = info.req or { method = "-", path = "-", headers = {} }
        r.request_id = util.random_id("req_011C", 20)
        r.keep_alive = false
        local entry
        if info.req then
          self.state:count_connection(conn)
          entry = self.state:log_request(r, conn.id)
        end
        local res = kind == "too_large" and errors.response(413)
          or errors.response(info.status, info.message)
        self:finish(r, entry, (self:send(conn, r, res)))
        conn:drain_and_close()
      end
      return
    end
    if not self:handle(conn, req) then return end
  end
end

return M
