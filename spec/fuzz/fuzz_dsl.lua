-- The checks of spec/fuzz/fuzz_dsl.c: the organization-file loader and validator
-- (dsl.evaluate, which load_string runs in its child process) over text built from the fuzzer's
-- bytes. Returns check(data), which raises a string naming the broken rule. Byte 0 picks how
-- the rest is used: as the whole file; as a name (a workspace, a key and a tag, written with %q
-- so that any bytes reach the checks of names); as a member's e-mail address; or as the body of
-- a workspace block. Rules:
--  - evaluate never raises: it returns a configuration, or nil and an error object of kind
--    "config" whose message is one or more lines "org.lua:LINE: ..." and whose problems (if any)
--    each have file "org.lua", a whole line >= 0 and a message;
--  - the string metatable's __index is the string table again and no hook is left set, even
--    after a failure; string.dump is still there for the host;
--  - what a configuration declares obeys the rules: workspace names of 1 to 40 characters and
--    key names, tag names and tag values that names.check accepts; e-mail addresses lower-cased;
--  - the configuration survives the wire format of the child process (bounded.encode/decode).
local dsl = require "anthropic.reconcile.dsl"
local bounded = require "anthropic.reconcile.bounded"
local errors = require "anthropic.error"
local names = require "anthropic.names"
local validate = require "anthropic.reconcile.validate"

local PATH = "org.lua"
local INSTRUCTIONS = 200000

local function fail(fmt, ...) error("fuzz_dsl: " .. string.format(fmt, ...), 0) end

local function text_of(data)
  local mode, rest = (data:byte(1) or 0) % 4, data:sub(2)
  local q = string.format("%q", rest)
  if mode == 0 then return rest end
  if mode == 1 then
    return "workspace " .. q .. " {\n  keys = { [" .. q .. "] = \"active\" },\n  tags = { [" .. q .. "] = " .. q
      .. " },\n}\n"
  end
  if mode == 2 then return "member " .. q .. ' { role = "developer" }\n' end
  return 'organization { id = "org-1" }\nworkspace "w" {\n' .. rest .. "\n}\n"
end

local function same(a, b, where)
  if type(a) ~= type(b) then fail("%s: a %s became a %s", where, type(a), type(b)) end
  if type(a) ~= "table" then
    if a ~= b and not (a ~= a and b ~= b) then fail("%s: %s became %s", where, tostring(a), tostring(b)) end
    if math.type(a) ~= math.type(b) then fail("%s: a %s became a %s", where, math.type(a), math.type(b)) end
    return
  end
  for k, v in pairs(a) do same(v, b[k], where .. "." .. tostring(k)) end
  for k in pairs(b) do
    if a[k] == nil then fail("%s: %s appeared", where, tostring(k)) end
  end
end

local function check_name(what, s, max)
  local why = names.check(s)
  if why then fail("%s %s was declared, though it %s", what, names.quote(s), why) end
  local n = utf8.len(s)
  if max and (n < 1 or n > max) then fail("%s %s has %d characters", what, names.quote(s), n) end
end

local function check_config(config)
  for _, w in ipairs(config.workspaces) do
    check_name("workspace", w.name, 40)
    for _, k in ipairs(w.keys or {}) do
      if k.name then check_name("key", k.name, 500) end
    end
    for k, v in pairs(w.tags or {}) do
      check_name("tag", k)
      if type(v) == "string" then check_name("tag value", v) end
    end
    for email in pairs(w.members or {}) do
      if email ~= email:lower() or not validate.is_email(email) then fail("member %q declared", email) end
    end
  end
  for _, m in ipairs(config.members) do
    if m.email ~= m.email:lower() or not validate.is_email(m.email) then fail("member %q declared", m.email) end
  end
end

local function check_error(err)
  if not errors.is_error(err) then fail("evaluate returned %s, not an error object", tostring(err)) end
  if err.kind ~= "config" then fail("an error of kind %s", tostring(err.kind)) end
  if type(err.message) ~= "string" or err.message == "" then fail("an error without a message") end
  for line in (err.message .. "\n"):gmatch("([^\n]*)\n") do
    if not line:find("^org%.lua:%d+: ") then fail("an error line without file:line: %q", line:sub(1, 200)) end
  end
  if type(err.problems) ~= "table" then fail("an error without problems") end
  for _, p in ipairs(err.problems) do
    if p.file ~= PATH or math.type(p.line) ~= "integer" or p.line < 0 or type(p.message) ~= "string" then
      fail("a problem without file, line or message: %q", tostring(p.message))
    end
  end
end

return function(data)
  local text = text_of(data)
  local ok, config, err = pcall(dsl.evaluate, text, PATH, { instructions = INSTRUCTIONS, memory_mb = 256 })
  if getmetatable("").__index ~= string then fail("the string metatable's __index was left changed") end
  if debug.gethook() ~= nil then fail("a hook was left set") end
  if not string.dump then fail("string.dump is gone from the host") end
  if not ok then fail("evaluate raised %s", tostring(config)) end
  if config == nil then return check_error(err) end
  check_config(config)
  local sent, wire = pcall(bounded.encode, config)
  if not sent then
    if wire == "not enough memory" then return end -- the harness's cap, not the code's fault
    fail("the configuration cannot be sent: %s", tostring(wire))
  end
  local back, why = bounded.decode(wire)
  if back == nil then fail("the configuration does not come back: %s", why) end
  same(config, back, "config")
end
