--- JSON for the library, in C: decoding (core.json_decode: a JSON null member reads as absent,
-- the Lua way, and whole numbers come back as integers) and encoding (core.json_encode: members
-- sorted by name, so equal tables give equal text; whole numbers exact; a message naming the
-- place of anything JSON cannot hold). See src/ljson.c and src/ljsonenc.c.
local core = require "anthropic.core"

local M = {}

--- Encode a Lua value; returns the string, or nil and a message
-- ("cannot encode a function at tools[1].handler").
M.encode = core.json_encode

--- Decode a string; returns the value (null members absent, whole numbers integers), or nil
-- and a message ("unexpected '}' at byte 12 (expected a value)").
M.decode = core.json_decode

--- An explicit null where a table would otherwise leave the member out: a NULL light userdata,
-- equal to lua-cjson's null (which encodes the same), without needing lua-cjson.
M.null = core.json_null

local ARRAY = core.json_array_mt -- { __json = "array" }: also on the empty arrays decode returns

--- Marks t (default: a new table) as a JSON array, so that it encodes as [] while empty (an
-- empty table is otherwise {}); returns t. A table with values 1..n is an array anyway.
function M.array(t)
  if t ~= nil and type(t) ~= "table" then error("json.array expects a table or nothing", 2) end
  return setmetatable(t or {}, ARRAY)
end

return M
