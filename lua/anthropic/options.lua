--- Values checked against specs (data), by one function: the options of anthropic.new and
-- anthropic.admin (transport.OPTIONS), and the numbers that tasks, batches:wait and pagers take.
-- A spec is a table:
--   type      "number" | "string" | "boolean" | "table" | "function", or a list of them
--   min, max  numbers: finite, from min to max (both included); every number spec has both
--   int       numbers: a whole number
--   unit      numbers: what one counts ("seconds", "bytes"), said in messages
--   default   what is used when the value is left out, offered as the fix
--   text      strings: "token" (an HTTP token, RFC 9110), "field" (an HTTP field value: no
--             control byte but tab), "url" (no control byte or space)
--   nonempty  strings: not ""
--   items     tables: exactly these items, { { name = ..., <spec> }, ... } (min_speed)
--   fields    tables: these fields and no others, { name = spec }; spec.required (spend_limit)
--   each      tables: an array whose every item satisfies this spec (beta)
--   keys, values  tables: a map whose names and values satisfy these specs (headers)
--   check     function(v) -> nil | why, after the rules above
-- check(spec, v, what) -> nil | message; `what` names the value and starts the message: a
-- string ("tasks.sleep: argument #1 (seconds)"), or { before, name, after } when parts of a
-- table are named inside it ({ "option '", "spend_limit", "' for anthropic.new" } gives
-- "option 'spend_limit.usd' for anthropic.new").
local M = {}

-- RFC 9110 tchar
local TOKEN = "^[%w!#%$%%&'%*%+%-%.%^_`|~]+$"

local BYTE_NAMES = { [0] = "NUL", [9] = "tab", [10] = "LF", [13] = "CR", [127] = "DEL" }

local function byte_name(b)
  return BYTE_NAMES[b] or string.format("0x%02X", b)
end

local ESCAPES = { ["\r"] = "\\r", ["\n"] = "\\n", ["\t"] = "\\t", ["\0"] = "\\0", ['"'] = '\\"', ["\\"] = "\\\\" }

-- A name in double quotes, on one line: control bytes escaped ("x-team\r\nx-api-key").
local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return ESCAPES[c] or string.format("\\x%02X", c:byte()) end) .. '"'
end

local function is_index(k, n)
  return type(k) == "number" and k == math.floor(k) and k >= 1 and k <= n
end

-- A number as the docs write it: 600, 0.001, 4294967296.
local function num(x)
  if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return string.format("%d", x) end
  if math.abs(x) >= 1e-6 and math.abs(x) < 1e15 then return (string.format("%.6f", x):gsub("0+$", "")) end
  return string.format("%.14g", x)
end
M.num = num

-- A number in a message: NaN and math.huge by those names.
local function shown(v)
  if type(v) ~= "number" then return type(v) end
  if v ~= v then return "NaN" end
  if v == math.huge then return "math.huge" end
  if v == -math.huge then return "-math.huge" end
  return num(v)
end
M.shown = shown

--- What a number spec accepts: "a number of seconds from 0.001 to 86400".
function M.describe(spec)
  return string.format("%s%s from %s to %s", spec.int and "a whole number" or "a number",
    spec.unit and (" of " .. spec.unit) or "", num(spec.min), num(spec.max))
end

local function types_of(spec)
  local t = spec.type
  if type(t) == "string" then return { t } end
  return t
end

local function type_ok(spec, v)
  for _, t in ipairs(types_of(spec)) do
    if type(v) == t then return true end
  end
  return false
end

local function fix(spec)
  if spec.default == nil then return "" end
  return "; leave it out for the default, " .. (type(spec.default) == "number" and num(spec.default) or spec.default)
end

-- `what` inside: { before, path, after }, so that a part can be named inside the quotes:
-- "option '" .. "spend_limit.usd" .. "' for anthropic.new".
local function label(w) return w[1] .. w[2] .. w[3] end
local function sub(w, part) return { w[1], w[2] .. part, w[3] } end

local function check_text(spec, v, w)
  local what = label(w)
  if spec.nonempty and v == "" then return what .. " must not be empty" end
  local text = spec.text
  if not text then return nil end
  if text == "token" then
    if v:match(TOKEN) then return nil end
    if v == "" then return what .. " must be an HTTP token (got an empty string)" end
    local at = v:find("[^%w!#%$%%&'%*%+%-%.%^_`|~]")
    local b = v:byte(at)
    return string.format("%s must be an HTTP token: letters, digits and !#$%%&'*+-.^_`|~ (got %s at byte %d)",
      what, (b > 32 and b < 127) and ("'" .. string.char(b) .. "'") or b == 32 and "a space"
        or ("a control byte (" .. byte_name(b) .. ")"), at)
  end
  local at = text == "url" and v:find("[%c ]") or v:find("[^\t%C]")
  if not at then return nil end
  local b = v:byte(at)
  if text == "url" then
    return string.format("%s contains %s at byte %d; a URL has no control bytes or spaces", what,
      b == 32 and "a space" or ("a control byte (" .. byte_name(b) .. ")"), at)
  end
  -- the value itself is never quoted: a header may carry a secret
  return string.format("%s contains a control byte (%s) at byte %d; header text must be one line of "
    .. "printable characters (a CR or LF would start another header, a NUL would cut it short): remove it",
    what, byte_name(b), at)
end

local check

local function check_table(spec, v, w)
  local what = label(w)
  if spec.items then
    local n = #spec.items
    local names = {}
    for i, item in ipairs(spec.items) do names[i] = item.name end
    local shape = "{ " .. table.concat(names, ", ") .. " }"
    for k in pairs(v) do
      if not is_index(k, n) then
        return string.format("%s must be %s, %d items (got an extra %s)", what, shape, n,
          type(k) == "number" and ("item [" .. num(k) .. "]") or ("field '" .. tostring(k) .. "'"))
      end
    end
    for i, item in ipairs(spec.items) do
      local msg = check(item, v[i], sub(w, "[" .. i .. "]"))
      if msg then return string.format("%s; %s is %s", msg, w[2], shape) end
    end
  end
  if spec.fields then
    local known = {}
    for name in pairs(spec.fields) do known[#known + 1] = name end
    table.sort(known)
    for k in pairs(v) do
      if spec.fields[k] == nil then
        return string.format("%s has an unknown field '%s' (known: %s)", what, tostring(k), table.concat(known, ", "))
      end
    end
    for _, name in ipairs(known) do
      local field = spec.fields[name]
      if v[name] ~= nil or field.required then
        local msg = check(field, v[name], sub(w, "." .. name))
        if msg then return msg end
      end
    end
  end
  if spec.each then
    local n = #v
    for k in pairs(v) do
      if not is_index(k, n) then
        return string.format("%s must be a list (got a field '%s')", what, tostring(k))
      end
    end
    for i = 1, n do
      local msg = check(spec.each, v[i], sub(w, "[" .. i .. "]"))
      if msg then return msg end
    end
  end
  if spec.keys or spec.values then
    local names = {}
    for k in pairs(v) do names[#names + 1] = k end
    table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(names) do
      local msg = spec.keys and check(spec.keys, k, { what .. ": the name ",
        type(k) == "string" and quote(k) or tostring(k), "" })
      if msg then return msg end
      msg = spec.values and check(spec.values, v[k], { what .. ": the value of ", quote(tostring(k)), "" })
      if msg then return msg end
    end
  end
end

--- nil when v satisfies spec, else the message (see the top of the file).
function check(spec, v, w)
  if type(w) == "string" then w = { "", w, "" } end
  local what = label(w)
  if not type_ok(spec, v) then
    local types = types_of(spec)
    return string.format("%s must be a %s (got %s)", what, table.concat(types, " or "), type(v))
  end
  local msg
  if type(v) == "number" and spec.min then
    if not (v >= spec.min and v <= spec.max) or (spec.int and v ~= math.floor(v)) then
      return string.format("%s must be %s (got %s)%s", what, M.describe(spec), shown(v), fix(spec))
    end
  elseif type(v) == "string" then
    msg = check_text(spec, v, w)
  elseif type(v) == "table" then
    msg = check_table(spec, v, w)
  end
  if msg then return msg end
  if spec.check then
    msg = spec.check(v)
    if msg then return what .. " " .. msg end
  end
end
M.check = check

--- Raise (at `level` above the caller) when v does not satisfy spec. -> v
function M.assert(spec, v, what, level)
  local msg = check(spec, v, what)
  if msg then error(msg, (level or 1) + 1) end
  return v
end

return M
