--- Query strings the way the Anthropic API reads them: sorted keys, arrays in bracket form
-- (group_by[]=model&group_by[]=workspace_id), booleans as true/false.
local M = {}

local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end
M.escape = escape

local function scalar(name, v)
  local t = type(v)
  if t == "boolean" then return v and "true" or "false" end
  if t == "number" then
    if math.type and math.type(v) == "float" and v == math.floor(v) then return string.format("%d", v) end
    return tostring(v)
  end
  if t == "string" then return v end
  error(string.format("query parameter '%s' must be a string, number or boolean (got %s)", name, t), 4)
end

--- Build "a=1&b[]=x&b[]=y" from a table (nil when empty).
function M.build(params)
  if not params then return nil end
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = params[k]
    if type(v) == "table" then
      for _, item in ipairs(v) do out[#out + 1] = escape(k) .. "[]=" .. escape(scalar(k, item)) end
    else
      out[#out + 1] = escape(k) .. "=" .. escape(scalar(k, v))
    end
  end
  if #out == 0 then return nil end
  return table.concat(out, "&")
end

return M
