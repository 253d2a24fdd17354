--- The error object: what every failed call returns as its second value.
-- Fields: kind ("api" | "connection" | "timeout" | "tls" | "key" | "config" | "decode" | "budget" |
-- "canceled"), status, type, message, request_id, workspace_id, retry_after, attempts, retryable,
-- ambiguous, details. See docs/errors-and-retries.md.
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

-- As deep as the JSON decoder nests (src/ljson.c), so no decoded body is cut.
local MAX_DEPTH = 200
local TOO_DEEP = "[nested too deep to show]"

local function scrub_table(t, clean, depth, seen)
  if seen[t] then return end
  seen[t] = true
  local renames
  for k, v in next, t do
    if type(v) == "string" then
      local c = clean(v)
      if c ~= v then rawset(t, k, c) end
    elseif type(v) == "table" then
      -- what is not looked at cannot be shown safely: a subtree past the limit goes
      if depth >= MAX_DEPTH then rawset(t, k, TOO_DEEP) else scrub_table(v, clean, depth + 1, seen) end
    end
    if type(k) == "string" then
      local c = clean(k)
      if c ~= k then
        renames = renames or {}
        renames[#renames + 1] = { k, c }
      end
    elseif type(k) == "table" then
      scrub_table(k, clean, depth + 1, seen)
    end
  end
  for _, r in ipairs(renames or {}) do -- (not during the traversal: that would add keys)
    local v = rawget(t, r[1])
    rawset(t, r[1], nil)
    rawset(t, r[2], v)
  end
end

--- Pass every string reachable from err through clean(s) -> s', in place: field values and
-- names, at any depth (details, nested arrays, names of members), each table once (cycles).
-- Metatables are not followed. -> err
function M.scrub(err, clean)
  scrub_table(err, clean, 1, {})
  return err
end

--- Raise err as a Lua error (for iterators, which cannot return nil, err).
function M.raise(err)
  error(err, 2)
end

return M
