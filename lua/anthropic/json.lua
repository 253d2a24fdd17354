--- JSON through a private lua-cjson instance (no shared module-wide settings).
-- Decoded JSON null becomes nil, so fields that are null read as absent, the Lua way.
local cjson = require("cjson").new()
cjson.encode_sparse_array(false)
cjson.decode_max_depth(200)

local M = {}
local null = cjson.null

local function strip_nulls(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == null then v[k] = nil else strip_nulls(x) end
  end
  return v
end

--- Encode a Lua value; returns the string, or nil and a message.
function M.encode(v)
  local ok, s = pcall(cjson.encode, v)
  if ok then return s end
  return nil, tostring(s):gsub("^.-:%d+: ", "")
end

--- Decode a string; returns the value (nulls removed), or nil and a message.
function M.decode(s)
  local ok, v = pcall(cjson.decode, s)
  if ok then return strip_nulls(v) end
  return nil, tostring(v):gsub("^.-:%d+: ", "")
end

--- Decode keeping JSON nulls as json.null (for callers that must tell null from absent).
function M.decode_raw(s)
  local ok, v = pcall(cjson.decode, s)
  if ok then return v end
  return nil, tostring(v):gsub("^.-:%d+: ", "")
end

M.null = null

return M
