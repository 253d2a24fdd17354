-- JSON for the emulator: the library's codec (anthropic.json, in C), so integers stay integers
-- (a fault's status 529 is written back as 529, never 529.0), output is deterministic (members
-- sorted) and empty arrays can be expressed. Unlike the library, the emulator must tell a null
-- from a missing member (a null tag value removes the tag), so a null decodes to json.null.
local lib = require "anthropic.json"
local core = require "anthropic.core"

local M = {}

M.null = lib.null
M.array = lib.array

-- decode(s) -> value (nulls as M.null) | nil, message
function M.decode(s)
  if type(s) ~= "string" then return nil, "not a string" end
  return core.json_decode(s, M.null)
end

-- encode(v) -> string; raises on what JSON cannot hold (the emulator's own values never do).
function M.encode(v)
  return (assert(lib.encode(v)))
end

return M
