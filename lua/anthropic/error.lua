--- The error object: what every failed call returns as its second value.
-- Fields: kind ("api" | "connection" | "timeout" | "key" | "config" | "decode" | "budget" |
-- "canceled"), status, type, message, request_id, retry_after, attempts, retryable, ambiguous,
-- details. See docs/errors-and-retries.md.
local M = {}

local Error = {}
Error.__index = Error
Error.__name = "anthropic.error"

function Error:__tostring()
  local parts = { "anthropic: ", self.kind, " error" }
  if self.status then parts[#parts + 1] = " " .. self.status end
  if self.type then parts[#parts + 1] = " " .. self.type end
  parts[#parts + 1] = ": " .. tostring(self.message)
  local extra = {}
  if self.request_id then extra[#extra + 1] = "request_id " .. self.request_id end
  if self.attempts and self.attempts > 1 then extra[#extra + 1] = self.attempts .. " attempts" end
  if self.ambiguous then extra[#extra + 1] = "the server may have acted on it" end
  if #extra > 0 then parts[#parts + 1] = " (" .. table.concat(extra, ", ") .. ")" end
  return table.concat(parts)
end

--- Make an error object from a table of fields (kind and message are required).
function M.new(fields)
  assert(type(fields.kind) == "string" and fields.message, "an error needs kind and message")
  return setmetatable(fields, Error)
end

--- true when x is an error object made by this library.
function M.is_error(x)
  return getmetatable(x) == Error
end

--- Raise err as a Lua error (for iterators, which cannot return nil, err).
function M.raise(err)
  error(err, 2)
end

return M
