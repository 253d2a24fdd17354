-- Small helpers shared by the emulator modules: ids, key hints, time, text measures, query strings.
local M = {}

local ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

-- A random id such as "req_011CSHoEeqs5C35K2UUqR7Fy" (prefix + 24 alphanumerics).
function M.random_id(prefix, n)
  local t = {}
  for i = 1, n or 24 do
    local j = math.random(1, #ALNUM)
    t[i] = ALNUM:sub(j, j)
  end
  return prefix .. table.concat(t)
end

-- A 32-bit polynomial string hash (portable: no bit operators).
function M.hash(s)
  local h = 5381
  for i = 1, #s do
    h = (h * 33 + s:byte(i)) % 4294967296
  end
  return h
end

-- An id derived from some text: the same text always gives the same id.
function M.stable_id(prefix, text, n)
  local t, h = {}, M.hash(text)
  for i = 1, n or 24 do
    h = (h * 1103515245 + 12345 + i) % 2147483648
    local j = math.floor(h / 65536) % #ALNUM + 1
    t[i] = ALNUM:sub(j, j)
  end
  return prefix .. table.concat(t)
end

-- A key hint like the Console's and the C core's (src/secret.h): first 16 bytes, "...", last 4
-- bytes ("sk-ant-api03-R2D...igAA"). Keys of 24 bytes or fewer show only "...", plus their last 2
-- bytes when at least 12 bytes long.
function M.hint(key)
  if type(key) ~= "string" then return "..." end
  if #key > 24 then return key:sub(1, 16) .. "..." .. key:sub(-4) end
  if #key >= 12 then return "..." .. key:sub(-2) end
  return "..."
end

function M.now()
  return require("socket").gettime()
end

-- RFC 3339 UTC time, whole seconds: "2026-08-22T10:00:00Z".
function M.rfc3339(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t or M.now()))
end

-- Number of UTF-8 characters (bytes that are not continuation bytes).
function M.chars(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

-- The first n UTF-8 characters of s.
function M.prefix_chars(s, n)
  if n <= 0 then return "" end
  local count = 0
  for i = 1, #s do
    local b = s:byte(i)
    if b < 128 or b >= 192 then
      count = count + 1
      if count > n then return s:sub(1, i - 1) end
    end
  end
  return s
end

-- Token estimate used everywhere in the emulator: ceil(characters / 4).
function M.tokens(s)
  return math.floor((M.chars(s) + 3) / 4)
end

local function unescape(s)
  s = s:gsub("%+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- "a=1&b[]=x&b[]=y" -> { a = "1", ["b[]"] = { "x", "y" } } (a repeated name gives a list).
function M.parse_query(q)
  local params = {}
  if not q or q == "" then return params end
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    if not k then k, v = pair, "" end
    k, v = unescape(k), unescape(v)
    local old = params[k]
    if old == nil then params[k] = v
    elseif type(old) == "table" then old[#old + 1] = v
    else params[k] = { old, v }
    end
  end
  return params
end

-- A shallow copy of a table.
function M.copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

return M
