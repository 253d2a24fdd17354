--- JSON through a private lua-cjson instance (no shared module-wide settings).
-- Decoded JSON null becomes nil, so fields that are null read as absent, the Lua way, and
-- whole numbers come back as integers.
local cjson = require("cjson").new()
cjson.encode_sparse_array(false)
cjson.decode_max_depth(200)

local M = {}
local null = cjson.null

local tointeger = math.tointeger or function(x) return x end

-- Nulls become absent fields, and whole numbers integers (cjson decodes every number as a
-- float, so token counts would print as 21.0).
local function normalize(v)
  local t = type(v)
  if t == "number" then return tointeger(v) or v end
  if t ~= "table" then return v end
  for k, x in pairs(v) do
    if x == null then v[k] = nil else v[k] = normalize(x) end
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
  if ok then return normalize(v) end
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
