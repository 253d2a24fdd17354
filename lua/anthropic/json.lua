--- JSON for the library: decoding in C (core.json_decode: a JSON null member reads as absent,
-- the Lua way, and whole numbers come back as integers); encoding through a private lua-cjson
-- instance (no shared module-wide settings).
local core = require "anthropic.core"
local cjson = require("cjson").new()
cjson.encode_sparse_array(false)

local M = {}

--- Encode a Lua value; returns the string, or nil and a message.
function M.encode(v)
  local ok, s = pcall(cjson.encode, v)
  if ok then return s end
  return nil, tostring(s):gsub("^.-:%d+: ", "")
end

--- Decode a string; returns the value (null members absent, whole numbers integers), or nil
-- and a message ("unexpected '}' at byte 12 (expected a value)"). In C: src/ljson.c.
M.decode = core.json_decode

M.null = cjson.null -- for encoding an explicit null (the emulator's answers)

return M
