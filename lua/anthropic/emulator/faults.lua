-- Fault injection: checking queued fault specs and answering a request with one.
-- The queue itself lives in state.lua; stream_* faults are carried out by sse.write().
local errors = require "anthropic.emulator.errors"
local json = require "anthropic.emulator.json"
local util = require "anthropic.emulator.util"

local M = {}

M.ACTIONS = {
  reset_before_headers = true, reset_after_headers = true, malformed_json = true, html_413 = true,
  stall = true, spend_cap = true, apply_then_reset = true,
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

-- Checks one fault spec and returns the queued form, or nil, message.
-- Spec: { path?, method?, count?, status?, body?, headers?, delay?, action?, after? }; a stream
-- action may also be written as { stream_error_after = K }.
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
    if not is_int(f.after, 0) then return nil, at .. ".after: must be an integer >= 0" end
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
    content = { { type = "text", text = "This answer was cut short by an injected fault." } },
    stop_reason = "end_turn", stop_sequence = json.null,
    usage = { input_tokens = 12, output_tokens = 11, cache_creation_input_tokens = 0,
              cache_read_input_tokens = 0, service_tier = "standard" },
  }
end

-- The response for a fault with a status and no special action (or spend_cap / html_413).
function M.response(f)
  local status = f.status
  local res = { headers = util.copy(f.headers) }
  if f.action == "spend_cap" then
    status = status or 429
    res.body = errors.body(status, "You have reached your organization's monthly usage limit. "
      .. "Your access will resume at the start of the next billing period.",
      "rate_limit_error", { error_code = "enforced_spend_limit_reached" })
  elseif f.action == "html_413" then
    status = status or 413
    res.body, res.content_type = M.HTML_413, "text/html"
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

-- Answers req with fault f (a fault with a status or a non-stream action).
-- -> outcome ("faulted" | "canceled"), keep_alive
function M.respond(emu, conn, req, f)
  local action = f.action
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
  return emu:send(conn, req, M.response(f))
end

return M
