-- Error responses in the real API's shape:
-- {"type":"error","error":{"type":"not_found_error","message":"..."},"request_id":"req_..."}
local M = {}

-- error.type and default message by HTTP status (defaults as in the OpenAPI spec).
M.TYPES = {
  [400] = { "invalid_request_error", "Invalid request" },
  [401] = { "authentication_error", "Authentication error" },
  [402] = { "billing_error", "Billing error" },
  [403] = { "permission_error", "Permission denied" },
  [404] = { "not_found_error", "Not found" },
  [405] = { "invalid_request_error", "Method not allowed" },
  [408] = { "timeout_error", "Request timeout" },
  [409] = { "conflict_error", "Conflict" },
  [413] = { "request_too_large", "Request exceeds the maximum allowed number of bytes." },
  [429] = { "rate_limit_error", "Rate limited" },
  [500] = { "api_error", "Internal server error" },
  [502] = { "api_error", "Bad gateway" },
  [503] = { "api_error", "Service unavailable" },
  [504] = { "timeout_error", "Request timeout" },
  [529] = { "overloaded_error", "Overloaded" },
}

local function default_for(status)
  local d = M.TYPES[status]
  if d then return d[1], d[2] end
  if status >= 500 then return "api_error", "Internal server error" end
  return "invalid_request_error", "Invalid request"
end

-- body(status [, message [, type [, details]]]) -> error body table (request_id is added when sent)
function M.body(status, message, etype, details)
  local t, m = default_for(status)
  local err = { type = etype or t, message = message or m }
  if details then err.details = details end
  return { type = "error", error = err }
end

-- response(status [, message [, type [, details]]]) -> a response table for the emulator's writer
function M.response(status, message, etype, details)
  return { status = status, body = M.body(status, message, etype, details) }
end

return M
