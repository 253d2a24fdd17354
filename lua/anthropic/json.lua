--- JSON through a private lua-cjson instance (no shared module-wide settings).
-- Decoded JSON null becomes nil, so fields that are null read as absent, the Lua way, and
-- whole numbers come back as integers.
local cjson = require("cjson").new()
cjson.encode_sparse_array(false)
cjson.decode_max_depth(200)

local M = {}
local null = cjson.null

-- Nulls become absent fields, and whole numbers integers (cjson decodes every number as a
-- float, so token counts would print as 21.0). One call per table, none per scalar: a float
-- with an integral value in the 64-bit range becomes an integer by `| 0` (exact there).
local function normalize(v)
  for k, x in next, v do
    local t = type(x)
    if t == "number" then
      if x % 1 == 0 and x >= -0x1p63 and x < 0x1p63 then v[k] = x | 0 end
    elseif t == "table" then
      normalize(x)
    elseif x == null then
      v[k] = nil
    end
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
  if ok then
    local t = type(v)
    if t == "table" then return normalize(v) end
    if t == "number" and v % 1 == 0 and v >= -0x1p63 and v < 0x1p63 then return v | 0 end
    return v
  end
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
