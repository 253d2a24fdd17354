-- Fault injection: checking queued fault specs and answering a request with one.
-- The queue itself lives in state.lua; stream_* faults are carried out by sse.write(); the
-- actions that shape a real answer (slow_drip, huge_body, oversize_header, and malformed_json or a
-- status given an `after` on a streaming request) are carried out here.
local errors = require "anthropic.emulator.errors"
local json = require "anthropic.emulator.json"
local sse = require "anthropic.emulator.sse"
local util = require "anthropic.emulator.util"

local M = {}

M.ACTIONS = {
  reset_before_headers = true, reset_after_headers = true, malformed_json = true, html_413 = true,
  stall = true, spend_cap = true, apply_then_reset = true,
  slow_drip = true, huge_body = true, oversize_header = true, redirect = true, echo_headers = true,
  stream_error_after = true, stream_truncate_after = true, stream_reset_after = true, stream_stall_after = true,
}

M.HTML_413 = table.concat({
  "<html>",
  "<head><title>413 Request Entity Too Large</title></head>",
  "<body>",
  "<center><h1>413 Request Entity Too Large</h1></center>",
  "<hr><center>cloudflare</center>",
  "</body>",
  "</html>",
  "",
}, "\r\n")

local function is_int(v, min)
  return type(v) == "number" and v == math.floor(v) and v >= min
end

-- Defaults of the actions' own fields.
M.DRIP_RATE = 4                -- slow_drip: bytes per second
M.HUGE_SIZE = 1024 * 1024      -- huge_body: bytes
M.HEADER_SIZE = 200 * 1024     -- oversize_header: bytes of one header value (libcurl allows 100 KB)

-- Checks one fault spec and returns the queued form, or nil, message.
-- Spec: { path?, method?, count?, skip?, status?, body?, headers?, delay?, action?, after?, rate?,
-- size?, location? }; a stream action may also be written as { stream_error_after = K }.
function M.normalize(spec, i)
  local at = "faults." .. (i - 1)
  if type(spec) ~= "table" then return nil, at .. ": must be an object" end
  local f = { spec = spec, action = spec.action, after = spec.after }
  for name in pairs(M.ACTIONS) do
    if name:find("^stream_") and spec[name] ~= nil then f.action, f.after = name, spec[name] end
  end
  if f.action ~= nil and not M.ACTIONS[f.action] then
    return nil, at .. ".action: unknown action " .. tostring(f.action)
  end
  if spec.path ~= nil and (type(spec.path) ~= "string" or spec.path:sub(1, 1) ~= "/") then
    return nil, at .. ".path: must be a string starting with /"
  end
  f.path = spec.path
  if spec.method ~= nil and (type(spec.method) ~= "string" or not spec.method:match("^%a+$")) then
    return nil, at .. ".method: must be an HTTP method such as \"POST\""
  end
  f.method = spec.method and spec.method:upper()
  if spec.count ~= nil and not is_int(spec.count, 1) then return nil, at .. ".count: must be an integer >= 1" end
  f.remaining = spec.count or 1
  if spec.skip ~= nil and not is_int(spec.skip, 0) then return nil, at .. ".skip: must be an integer >= 0" end
  f.skip = spec.skip or 0
  if spec.status ~= nil and not (is_int(spec.status, 100) and spec.status <= 599) then
    return nil, at .. ".status: must be an HTTP status"
  end
  f.status = spec.status
  if spec.delay ~= nil and (type(spec.delay) ~= "number" or spec.delay < 0) then
    return nil, at .. ".delay: must be a number of seconds >= 0"
  end
  f.delay = spec.delay
  if spec.body ~= nil and type(spec.body) ~= "string" and type(spec.body) ~= "table" then
    return nil, at .. ".body: must be a string or an object"
  end
  f.body = spec.body
  f.headers = {}
  if spec.headers ~= nil then
    if type(spec.headers) ~= "table" then return nil, at .. ".headers: must be an object" end
    for k, v in pairs(spec.headers) do
      if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") or k:find("[%c:]")
          or tostring(v):find("[\r\n]") then
        return nil, at .. ".headers: names and values must be strings"
      end
      f.headers[k:lower()] = tostring(v)
    end
  end
  if f.action and f.action:find("^stream_") then
    f.stream_only = true
    f.after = f.after or 0
  end
  if f.after ~= nil and not is_int(f.after, 0) then return nil, at .. ".after: must be an integer >= 0" end
  if spec.rate ~= nil and not (type(spec.rate) == "number" and spec.rate > 0) then
    return nil, at .. ".rate: must be a number of bytes per second > 0"
  end
  f.rate = spec.rate or M.DRIP_RATE
  if spec.size ~= nil and not is_int(spec.size, 1) then return nil, at .. ".size: must be an integer >= 1" end
  f.size = spec.size or (f.action == "oversize_header" and M.HEADER_SIZE or M.HUGE_SIZE)
  if f.action == "redirect" then
    if type(spec.location) ~= "string" or not spec.location:match("^https?://[^\r\n]+$") then
      return nil, at .. ".location: a redirect needs an http(s) URL"
    end
    if f.status and (f.status < 300 or f.status > 399) then return nil, at .. ".status: a redirect is 3xx" end
    f.status, f.headers.location = f.status or 307, spec.location
  elseif spec.location ~= nil then
    return nil, at .. ".location: only for the redirect action"
  end
  if not f.action and not f.status and not f.delay then
    return nil, at .. ": give a status, an action or a delay"
  end
  return f
end

-- A plausible Message body, for faults that cut or break one.
local function sample_message(req)
  local body = json.decode(req.body or "")
  local model = type(body) == "table" and type(body.model) == "string" and body.model or "claude-sonnet-4-5"
  return json.encode {
    id = util.random_id("msg_01", 22), type = "message", role = "assistant", model = model,
    content = { { type = "text", text = "This answer was cut short by an injected fault.", citations = json.null } },
    stop_reason = "end_turn", stop_sequence = json.null,
    usage = { input_tokens = 12, output_tokens = 11, cache_creation_input_tokens = 0,
              cache_read_input_tokens = 0, service_tier = "standard" },
  }
end

-- The echo_headers body: the request's headers as received, keys included, in the shapes a
-- careless server or proxy may use: in the message, as an object, as lines, nested in arrays,
-- and as an object's member names.
local function echo_body(status, req)
  local names, lines, by_value = {}, {}, {}
  for name in pairs(req.headers) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    lines[#lines + 1] = name .. ": " .. req.headers[name]
    by_value[req.headers[name]] = name
  end
  local auth = req.headers["x-api-key"] or req.headers["authorization"] or ""
  return errors.body(status, "invalid credentials: " .. auth, nil, {
    headers = util.copy(req.headers), lines = lines, nested = { { { raw = table.concat(lines, "\r\n") } } },
    by_value = by_value,
  }), auth
end

-- The response for a fault with a status and no special action (or spend_cap / html_413 /
-- echo_headers).
function M.response(f, req)
  local status = f.status
  local res = { headers = util.copy(f.headers) }
  if f.action == "echo_headers" then
    status = status or 401
    local auth
    res.body, auth = echo_body(status, req)
    res.body.request_id = "req_echo_" .. auth
    res.headers["request-id"] = "req_echo_" .. auth
    res.headers["x-echo-credentials"] = auth
    res.unredacted = true -- the point of this fault: the one answer that carries a key back
  elseif f.action == "spend_cap" then
    status = status or 429
    res.body = errors.body(status, "You have reached your organization's monthly usage limit. "
      .. "Your access will resume at the start of the next billing period.",
      "rate_limit_error", { error_code = "enforced_spend_limit_reached" })
  elseif f.action == "html_413" then
    status = status or 413
    res.body, res.content_type = M.HTML_413, "text/html"
  elseif f.action == "redirect" then
    res.body, res.content_type = "<html><body>Moved</body></html>\r\n", "text/html"
  elseif f.body ~= nil then
    res.body = f.body
    if type(f.body) == "string" and not res.headers["content-type"] then
      local first = f.body:match("^%s*(.)")
      if first ~= "{" and first ~= "[" then res.content_type = "text/plain" end
    end
  else
    res.body = errors.body(status)
  end
  res.status = status
  return res
end

---------------------------------------------------------------------------------------------------
-- Faults that shape the real answer

-- The answer the request would have had (auth and validation included), and whether it streams.
local function real_answer(emu, req)
  local route, captures, allowed = emu:find_route(req.method, req.path)
  return emu:dispatch(req, route, captures, allowed)
end

local function streaming_request(emu, req)
  local route = emu:find_route(req.method, req.path)
  if not (route and route.stream_faults) then return false end
  local body = json.decode(req.body or "")
  return type(body) == "table" and body.stream == true
end

-- Writes data at f.rate bytes per second, in pieces of about a tenth of a second (at least one
-- byte); chunked: each piece is one HTTP chunk. -> true | nil when the client went away.
local function drip(conn, data, f, chunked)
  local piece = math.max(1, math.floor(f.rate / 10))
  for i = 1, #data, piece do
    local part = data:sub(i, i + piece - 1)
    local ok
    if chunked then ok = conn:write_chunk(part) else ok = conn:write(part) end
    if not ok or not conn:sleep(#part / f.rate) then return nil end
  end
  return true
end

-- One frame with the emulator's key filter.
local function frame(emu, name, data)
  return emu.state:redactor()(sse.frame(name, data))
end

-- Where huge_body's delta goes in a stream, so that the stream stays well-formed: after K events
-- but inside the first text block (after its content_block_start, before its stop).
-- -> the number of events before it, the block's index
local function huge_body_place(events, after)
  for i, e in ipairs(events) do
    if e.name == "content_block_start" and e.data.content_block.type == "text" then
      local stop = i
      while events[stop + 1] and events[stop + 1].name ~= "content_block_stop" do stop = stop + 1 end
      return math.min(math.max(after, i), stop), e.data.index
    end
  end
  return after, 0
end

-- A streamed answer with fault f striking after f.after events (default 0):
--   slow_drip: the rest of the stream at f.rate bytes per second;
--   huge_body: one text delta of f.size bytes (into the first text block), then the rest;
--   malformed_json: an event whose data is cut JSON, then the end of the stream;
--   a status: an error event of that status's type, then the end of the stream.
-- -> outcome, keep_alive
local function write_stream(emu, conn, req, res, f)
  local headers = util.copy(res.headers or {})
  headers["content-type"] = "text/event-stream; charset=utf-8"
  headers["cache-control"] = "no-cache"
  headers["transfer-encoding"] = "chunked"
  if not emu:head(conn, req, res.status, headers, false) then return "canceled", false end
  local events, after = res.stream, f.after or 0
  local block -- huge_body: the big delta goes into the first text block, while it is open
  if f.action == "huge_body" then
    after, block = huge_body_place(events, after)
  end
  for i = 1, math.min(after, #events) do
    if not conn:write_chunk(frame(emu, events[i].name, events[i].data)) then return "canceled", false end
  end
  local rest = {}
  for i = after + 1, #events do rest[#rest + 1] = frame(emu, events[i].name, events[i].data) end
  local action = f.action
  if action == "slow_drip" then
    if not (drip(conn, table.concat(rest), f, true) and conn:end_chunks()) then return "canceled", false end
    return "faulted", false
  elseif action == "huge_body" then
    local big = frame(emu, "content_block_delta",
      { type = "content_block_delta", index = block, delta = { type = "text_delta", text = ("x"):rep(f.size) } })
    if not conn:write_chunk(big) then return "canceled", false end
    for _, data in ipairs(rest) do
      if not conn:write_chunk(data) then return "canceled", false end
    end
  elseif action == "malformed_json" then
    local data = json.encode { type = "content_block_delta", index = 0,
      delta = { type = "text_delta", text = "this event is cut in the middle" } }
    local broken = "event: content_block_delta\ndata: " .. data:sub(1, math.floor(#data / 2)) .. "\n\n"
    if not conn:write_chunk(broken) then return "canceled", false end
  else -- a status: the API reports errors inside a started stream as an error event
    local body = errors.body(f.status)
    body.request_id = req.request_id
    if not conn:write_chunk(frame(emu, "error", body)) then return "canceled", false end
  end
  if not conn:end_chunks() then return "canceled", false end
  return "faulted", false
end

-- The actions that need the real answer. -> outcome, keep_alive
local function respond_shaped(emu, conn, req, f)
  local res = real_answer(emu, req)
  if res.status < 200 or res.status > 299 then return emu:send(conn, req, res) end -- auth etc. first
  local action = f.action
  if action == "oversize_header" then
    res.headers = util.copy(res.headers or {})
    res.headers["x-padding"] = ("x"):rep(f.size)
    if res.stream then return emu:send_stream(conn, req, res) end
    return emu:send(conn, req, res)
  end
  if res.stream then return write_stream(emu, conn, req, res, f) end
  local body = res.body
  if type(body) == "table" then body = json.encode(body) end
  body = emu.state:redact(body or "")
  if action == "huge_body" then -- the same answer, its first text padded to f.size bytes in all
    local msg = json.decode(body)
    local block = type(msg) == "table" and type(msg.content) == "table" and msg.content[1]
    if type(block) == "table" and block.type == "text" then
      block.text = block.text .. ("x"):rep(math.max(0, f.size - #body))
      body = json.encode(msg)
    else
      body = body .. (" "):rep(math.max(0, f.size - #body)) -- trailing blanks keep the JSON valid
    end
  end
  local headers = util.copy(res.headers or {})
  headers["content-type"] = headers["content-type"] or "application/json"
  headers["content-length"] = #body
  if not emu:head(conn, req, res.status, headers, false) then return "canceled", false end
  local ok
  if action == "slow_drip" then ok = drip(conn, body, f, false) else ok = conn:write(body) end
  if not ok then return "canceled", false end
  return "faulted", false
end

-- Answers req with fault f (a fault with a status or a non-stream action).
-- -> outcome ("faulted" | "canceled"), keep_alive
function M.respond(emu, conn, req, f)
  local action = f.action
  if action == "slow_drip" or action == "huge_body" or action == "oversize_header"
      or (f.after and (action == "malformed_json" or (f.status and not action)) and streaming_request(emu, req)) then
    return respond_shaped(emu, conn, req, f)
  end
  if action == "reset_before_headers" then
    conn:abort()
    return "faulted", false
  elseif action == "stall" then
    conn:wait_gone()
    return "canceled", false
  elseif action == "reset_after_headers" or action == "malformed_json" then
    local body = f.body
    if type(body) == "table" then body = json.encode(body) end
    body = body or sample_message(req)
    local cut = body:sub(1, math.floor(#body / 2))
    local headers = util.copy(f.headers)
    headers["content-type"] = headers["content-type"] or "application/json"
    if action == "malformed_json" then
      return emu:send(conn, req, { status = f.status or 200, headers = headers, body = cut })
    end
    headers["content-length"] = #body
    emu:head(conn, req, f.status or 200, headers)
    conn:write(cut)
    conn:sleep(0.05) -- let the partial body reach the client before the reset
    conn:abort()
    return "faulted", false
  end
  return emu:send(conn, req, M.response(f, req))
end

return M
