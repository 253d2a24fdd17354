--- Checks a value against a rule of schema.lua and returns the normalized value, or raises a
-- problem { path = { segment, ... }, message = "..." } (a table, caught by dsl.lua, which adds the
-- file and line). A segment is { field = "name" } or { key = value } (a map key or list index).
local names = require "anthropic.names"

local M = {}

-- How many characters of a value an error message shows.
M.SHOWN = 100

local function fail(path, message)
  error({ path = path, message = message }, 0)
end

local function extend(path, seg)
  local p = {}
  for i, s in ipairs(path) do p[i] = s end
  p[#p + 1] = seg
  return p
end

local function quote_list(values)
  local out = {}
  for i, v in ipairs(values) do out[i] = '"' .. tostring(v) .. '"' end
  return table.concat(out, ", ")
end

local function show(v)
  if type(v) == "string" then return names.quote(v, M.SHOWN) end
  return tostring(v)
end

--- "members[\"a@b.c\"].role" for a path.
function M.path_text(path)
  local out = {}
  for i, seg in ipairs(path) do
    if seg.field then
      out[#out + 1] = (i > 1 and "." or "") .. seg.field
    elseif type(seg.key) == "number" then
      out[#out + 1] = "[" .. seg.key .. "]"
    else
      out[#out + 1] = "[" .. names.quote(tostring(seg.key), M.SHOWN) .. "]"
    end
  end
  return table.concat(out)
end

--- true when s looks like an e-mail address (one @, a dot in the domain, no spaces, no control
-- characters, valid UTF-8 without the characters names.check refuses).
function M.is_email(s)
  return type(s) == "string" and s:match("^[^@%s%c\"'<>]+@[^@%s%c\"'<>]+%.[^@%s%c\"'<>%.]+$") ~= nil
    and names.check(s) == nil
end

-- Strings are UTF-8 (what the API takes) and measured in characters; a rule with `label` is a
-- name people read (names.check: no control characters, bidirectional controls, or leading,
-- trailing or only spaces).
local function check_string(rule, v, path)
  local len, bad = names.length(v)
  if not len then fail(path, bad .. " (got " .. show(v) .. ")") end
  if rule.min and len < rule.min then
    fail(path, rule.min == 1 and "must not be empty" or ("must have at least " .. rule.min .. " characters"))
  end
  if rule.max and len > rule.max then
    fail(path, "must have at most " .. rule.max .. " characters")
  end
  if rule.label then
    local why = names.check(v)
    if why then fail(path, why .. " (got " .. show(v) .. ")") end
  end
  if rule.pattern and not v:match(rule.pattern) then
    fail(path, "must be " .. (rule.pattern_text or ("like " .. rule.pattern)) .. " (got " .. show(v) .. ")")
  end
  if rule.not_prefix and v:lower():sub(1, #rule.not_prefix) == rule.not_prefix then
    fail(path, "must not start with '" .. rule.not_prefix .. "' (got " .. show(v) .. ")")
  end
  if rule.enum then
    for _, x in ipairs(rule.enum) do
      if x == v then return v end
    end
    fail(path, "must be one of " .. quote_list(rule.enum) .. " (got " .. show(v) .. ")")
  end
  return v
end

local check

local function check_record(rule, v, path)
  if type(v) == "string" and rule.shorthand then v = { [rule.shorthand] = v } end
  if type(v) ~= "table" then fail(path, "must be a table { ... } (got " .. type(v) .. ")") end
  local out = {}
  local given = {}
  for k in pairs(v) do
    if type(k) ~= "string" then
      fail(extend(path, { key = k }), "unexpected entry: fields have names (name = value)")
    end
    given[#given + 1] = k
  end
  table.sort(given)
  for _, k in ipairs(given) do
    local fr = rule.fields[k]
    if not fr then
      local known = {}
      for name in pairs(rule.fields) do known[#known + 1] = name end
      table.sort(known)
      fail(extend(path, { field = k }), "unknown field (known: " .. table.concat(known, ", ") .. ")")
    end
    out[k] = check(fr, v[k], extend(path, { field = k }))
  end
  local required = {}
  for name, fr in pairs(rule.fields) do
    if fr.required and v[name] == nil then required[#required + 1] = name end
  end
  table.sort(required)
  if required[1] then fail(extend(path, { field = required[1] }), "is required") end
  return out
end

local function check_map(rule, v, path)
  if type(v) ~= "table" then fail(path, "must be a table { [key] = value, ... } (got " .. type(v) .. ")") end
  local out, seen, list = {}, {}, {}
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) ~= type(b) then return type(a) == "number" end
    return a < b
  end)
  for _, k in ipairs(keys) do
    local kpath = extend(path, { key = k })
    if type(k) == "number" then
      if not rule.items then fail(kpath, "unexpected list entry: write [\"key\"] = value") end
      list[#list + 1] = check(rule.items, v[k], kpath)
    else
      local nk = check(rule.key, k, kpath)
      if seen[nk] then
        fail(kpath, "duplicate: " .. show(seen[nk]) .. " and " .. show(k) .. " are the same")
      end
      seen[nk] = k
      out[nk] = check(rule.value, v[k], kpath)
    end
  end
  if rule.items then return out, list end
  return out
end

function check(rule, v, path)
  local t = rule.type
  if t == "map" then
    local out, list = check_map(rule, v, path)
    if list then return { map = out, list = list } end
    return out
  elseif t == "record" then
    return check_record(rule, v, path)
  elseif t == "list" then
    if type(v) ~= "table" then fail(path, "must be a list { ... } (got " .. type(v) .. ")") end
    local out = {}
    for k in pairs(v) do
      if type(k) ~= "number" or k < 1 or k > #v or k ~= math.floor(k) then
        fail(extend(path, { key = k }), "must be a plain list")
      end
    end
    for i = 1, #v do out[i] = check(rule.item, v[i], extend(path, { key = i })) end
    return out
  elseif t == "boolean" then
    if type(v) ~= "boolean" then fail(path, "must be true or false (got " .. show(v) .. ")") end
    return v
  elseif t == "number" or t == "integer" then
    if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
      fail(path, "must be a number (got " .. show(v) .. ")")
    end
    if t == "integer" and v ~= math.floor(v) then fail(path, "must be a whole number (got " .. show(v) .. ")") end
    if rule.min and v < rule.min then fail(path, "must be at least " .. rule.min .. " (got " .. show(v) .. ")") end
    if rule.max and v > rule.max then fail(path, "must be at most " .. rule.max .. " (got " .. show(v) .. ")") end
    return v
  elseif t == "limit" then
    if v == "inherit" then return v end
    if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge or v ~= math.floor(v) then
      fail(path, "must be a whole number or \"inherit\" (got " .. show(v) .. ")")
    end
    if v < 0 then fail(path, "must be at least 0 (got " .. show(v) .. ")") end
    if v > 2 ^ 53 then fail(path, "must be at most 2^53 (got " .. show(v) .. ")") end
    return math.floor(v)
  elseif t == "email" then
    if type(v) ~= "string" then fail(path, "must be an e-mail address (got " .. type(v) .. ")") end
    if not M.is_email(v) then
      local why = names.check(v)
      fail(path, "not an e-mail address: " .. (why and (why .. " (got " .. show(v) .. ")") or show(v)))
    end
    return rule.lower and v:lower() or v
  elseif t == "string" then
    if v == false and rule.allow_false then return false end
    if type(v) ~= "string" then
      fail(path, "must be a string" .. (rule.allow_false and " or false" or "") .. " (got " .. show(v) .. ")")
    end
    return check_string(rule, v, path)
  end
  error("schema: unknown type " .. tostring(t))
end

--- check(rule, value, path) -> normalized value; raises a problem table.
-- A map with `items` returns { map = {...}, list = {...} }.
M.check = check
M.fail = fail

return M
