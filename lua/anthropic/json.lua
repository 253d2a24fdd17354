--- JSON for the library: decoding in C (core.json_decode: a JSON null member reads as absent,
-- the Lua way, and whole numbers come back as integers); encoding through a private lua-cjson
-- instance (no shared module-wide settings).
local core = require "anthropic.core"
local cjson = require("cjson").new()
cjson.encode_sparse_array(false)
cjson.decode_max_depth(200)

local M = {}
local null = cjson.null

--- Encode a Lua value; returns the string, or nil and a message.
function M.encode(v)
  local ok, s = pcall(cjson.encode, v)
  if ok then return s end
  return nil, tostring(s):gsub("^.-:%d+: ", "")
end

--- Decode a string; returns the value (null members absent, whole numbers integers), or nil
-- and a message ("unexpected '}' at byte 12 (expected a value)"). In C: src/ljson.c.
M.decode = core.json_decode

--- Decode keeping JSON nulls as json.null (for callers that must tell null from absent).
function M.decode_raw(s)
  local ok, v = pcall(cjson.decode, s)
  if ok then return v end
  return nil, tostring(v):gsub("^.-:%d+: ", "")
end

M.null = null

return M
