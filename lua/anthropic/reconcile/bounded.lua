--- Evaluating an organization file in a child process, so that no file can take more memory or
-- time than its limits, whatever it calls: inside one library call (a pattern that backtracks
-- for minutes, a string.rep of a gigabyte) Lua checks no instruction budget.
--   run(text, path, limits) -> { config = ... } | { message =, problems = } | nil, message
--   limits: memory_mb (the child's address space), seconds (processor time, checked by the
--   child between instructions; the child is killed one second past it, or two seconds past it
--   on the clock), instructions (dsl.lua's budget), evaluator (the module whose evaluate(text,
--   path, opts) the child runs: dsl.lua by default; profiles.lua for the config file).
-- The child is the interpreter running this process (/proc/PID/exe, when it is a Lua 5.1,
-- 5.3, 5.4 or LuaJIT: under LuaJIT, dsl.lua turns the compiler off while the file runs, so
-- that the instruction budget holds) or `lua5.4` on PATH; M.interpreter sets another. It runs
-- under /bin/sh with `ulimit -v` (memory), `ulimit -t` (processor time), no core file, and
-- coreutils' `timeout` (the clock) when there is one; with an empty environment (only PATH:
-- no key of this process) and `lua -E`. It reads the file from a temporary file (mode 0600,
-- removed at once) on stdin, runs dsl.evaluate and
-- writes to stdout "L<line>" whenever the line of the file it runs changes (so that a file
-- killed inside one long call is reported at its line) and, at the end, the result:
-- "R<length>\n" and the value in a small typed format (encode/decode below: strings by length,
-- integers and floats kept apart, no code), which the parent decodes without running anything.
local compat = require "anthropic.compat"

local M = {}

M.interpreter = nil -- nil: found as said above
M.MAX_OUTPUT = 256 * 1024 * 1024 -- what the parent reads from a child at most

---------------------------------------------------------------------------------------------------
-- The result's format: "{" key value ... "}", "s<len>:<bytes>", "i<integer>;", "f<%a>;", "T", "F".

-- Floats in hexadecimal (exact, -0.0 kept); PUC Lua 5.1's format has no %a: 17 digits, exact too.
local FLOAT = pcall(string.format, "%a", 1) and "%a" or "%.17g"

local function encode_into(v, out, depth)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = "s" .. #v .. ":"
    out[#out + 1] = v
  elseif t == "number" then
    if compat.is_integer(v) then
      out[#out + 1] = "i" .. string.format("%d", v) .. ";"
    elseif v ~= v then
      out[#out + 1] = "fnan;"
    elseif v == math.huge or v == -math.huge then
      out[#out + 1] = v > 0 and "finf;" or "f-inf;"
    else
      out[#out + 1] = "f" .. string.format(FLOAT, v) .. ";"
    end
  elseif t == "boolean" then
    out[#out + 1] = v and "T" or "F"
  elseif t == "table" then
    if depth > 50 then error("bounded: the result nests too deep", 0) end
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      encode_into(k, out, depth + 1)
      encode_into(x, out, depth + 1)
    end
    out[#out + 1] = "}"
  else
    error("bounded: cannot send a " .. t, 0)
  end
end

--- A plain value (strings, numbers, booleans, tables of them) as text.
function M.encode(v)
  local out = {}
  encode_into(v, out, 0)
  return table.concat(out)
end

--- The value encode wrote. -> value | nil, message
function M.decode(text)
  local pos, stack, top, key, root = 1, {}, nil, nil, nil
  local have_key, done = false, false
  local function put(v)
    if top == nil then
      if done then return "more than one value" end
      root, done = v, true
    elseif not have_key then
      if v == nil or v ~= v then return "a bad key" end
      key, have_key = v, true
    else
      top[key], have_key = v, false
    end
  end
  while pos <= #text do
    local c = text:sub(pos, pos)
    local v, why
    if c == "{" then
      local t = {}
      why = put(t)
      if why then return nil, why end
      stack[#stack + 1] = top
      top = t
      pos = pos + 1
    elseif c == "}" then
      if top == nil or have_key then return nil, "a '}' out of place at byte " .. pos end
      top = table.remove(stack)
      pos = pos + 1
    elseif c == "s" then
      local len, stop = text:match("^(%d+):()", pos + 1)
      if not len then return nil, "a bad string at byte " .. pos end
      v = text:sub(stop, stop + tonumber(len) - 1)
      if #v ~= tonumber(len) then return nil, "a string cut short at byte " .. pos end
      pos = stop + #v
    elseif c == "i" or c == "f" then
      local num, stop = text:match("^([^;]+);()", pos + 1)
      if not num then return nil, "a bad number at byte " .. pos end
      if c == "i" then
        v = compat.tointeger(tonumber(num))
      elseif num == "nan" then
        v = 0 / 0
      elseif num == "inf" or num == "-inf" then
        v = num == "inf" and math.huge or -math.huge
      else
        v = tonumber(num)
        if v then v = v + 0.0 end
      end
      if v == nil then return nil, "a bad number at byte " .. pos end
      pos = stop
    elseif c == "T" or c == "F" then
      v = c == "T"
      pos = pos + 1
    else
      return nil, "unexpected " .. string.format("%q", c) .. " at byte " .. pos
    end
    if c ~= "{" and c ~= "}" then
      why = put(v)
      if why then return nil, why end
    end
  end
  if top ~= nil or not done then return nil, "the result is cut short" end
  return root
end

---------------------------------------------------------------------------------------------------
-- The child

--- The child's side (run as `lua -e`): reads the file on stdin, evaluates it, writes the lines
-- and the result to stdout.
function M.child(path, limits)
  io.stdout:setvbuf("full")
  local dsl = require "anthropic.reconcile.dsl"
  local evaluator = limits.evaluator and require(limits.evaluator) or dsl -- (profiles.lua: its config file)
  local function marker(line)
    io.stdout:write("L", line, "\n")
    io.stdout:flush()
  end
  local text = io.stdin:read("*a")
  local last = 1
  local ok, config, err = pcall(evaluator.evaluate, text, path, {
    instructions = limits.instructions, seconds = limits.seconds, memory_mb = limits.memory_mb,
    on_line = function(line)
      last = line
      marker(line)
    end,
  })
  text = nil -- luacheck: ignore (freed before the result is encoded)
  local result
  if not ok then
    if config == "not enough memory" or tostring(config):find(":%d+: not enough memory for buffer allocation$") then
      result = { message = dsl.memory_message(path, last, limits.memory_mb) }
    else
      result = { message = path .. ":" .. last .. ": " .. tostring(config) }
    end
  elseif config then
    result = { config = config }
  else
    result = { message = err.message, problems = err.problems }
  end
  local sent, payload = pcall(M.encode, result)
  if not sent then
    config, err, result = nil, nil, nil -- luacheck: ignore
    collectgarbage()
    payload = M.encode { message = payload == "not enough memory"
      and dsl.memory_message(path, last, limits.memory_mb) or (path .. ": " .. tostring(payload)) }
  end
  io.stdout:write("R", #payload, "\n", payload)
  io.stdout:flush()
end

---------------------------------------------------------------------------------------------------
-- The parent

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local found_interpreter

-- The interpreter for the child: M.interpreter, or this process's executable when it is a Lua,
-- or lua5.4.
local function interpreter()
  if M.interpreter then return M.interpreter end
  if found_interpreter then return found_interpreter end
  local p = io.popen("readlink /proc/$PPID/exe 2>/dev/null")
  local exe = p and p:read("*l")
  if p then p:close() end
  if exe and (exe:match("/lua[%d.]*$") or exe:match("/luajit[%w.-]*$")) then
    found_interpreter = exe
  else
    found_interpreter = "lua5.4"
  end
  return found_interpreter
end

-- The shell command that runs the child with the limits.
local function command(input, path, limits)
  local code = string.format("if not ({ ['Lua 5.1'] = 1, ['Lua 5.3'] = 1, ['Lua 5.4'] = 1 })[_VERSION] then "
    .. "io.write('V', _VERSION, '\\n') os.exit(3) end "
    .. "package.path = %q; package.cpath = ''; require('anthropic.reconcile.bounded').child(%q, "
    .. "{ instructions = %d, seconds = %s, memory_mb = %d, evaluator = %s })",
    package.path, path, math.floor(limits.instructions), string.format("%.17g", limits.seconds),
    math.floor(limits.memory_mb), limits.evaluator and string.format("%q", limits.evaluator) or "nil")
  local lua = interpreter()
  -- -E: no LUA_INIT, LUA_PATH...; env -i: none of this process's environment (keys included)
  -- (PUC Lua 5.1 has no -E: env -i has already dropped LUA_INIT and LUA_PATH there)
  local run = sh_quote(lua) .. (lua:match("lua5%.1$") and " -e " or " -E -e ") .. sh_quote(code) .. " < "
    .. sh_quote(input)
  local cpu = math.ceil(limits.seconds) + 1
  local limited = table.concat({
    "ulimit -c 0 2>/dev/null",
    "ulimit -v " .. math.floor(limits.memory_mb * 1024) .. " || { echo 'Xcannot limit memory (ulimit -v)'; exit 4; }",
    "ulimit -t " .. cpu .. " || { echo 'Xcannot limit processor time (ulimit -t)'; exit 4; }",
    -- (the status is also written as a last line "E<status>": on 5.1 a pipe's close() gives none)
    "if command -v timeout >/dev/null 2>&1; then timeout -k 1 " .. (cpu + 1) .. " " .. run
      .. "; else " .. run .. "; fi",
    "status=$?; echo; echo \"E$status\"; exit $status",
  }, "\n")
  -- the environment is emptied before the limits apply: what this process preloads (a sanitizer's
  -- runtime, say) must not be loaded again under a 64 MB address-space limit
  return "exec 2>&1\nexec env -i PATH=\"$PATH\" /bin/sh -c " .. sh_quote(limited)
end

-- The child's output: the last line, the result's text, and anything else it printed.
local function parse(out)
  local pos, line, payload, other, status = 1, nil, nil, {}, nil
  while pos <= #out do
    local c = out:sub(pos, pos)
    local len, rstop
    if c == "R" then len, rstop = out:match("^(%d+)\n()", pos + 1) end
    if len then
      payload = out:sub(rstop, rstop + tonumber(len) - 1)
      pos = rstop + tonumber(len)
    else
      local text, stop = out:match("^([^\n]*)\n?()", pos)
      if c == "L" and text:match("^L%d+$") then
        line = tonumber(text:sub(2))
      elseif c == "E" and text:match("^E%d+$") then
        status = tonumber(text:sub(2))
      elseif text ~= "" then
        other[#other + 1] = text
      end
      pos = stop
    end
  end
  return line, payload, table.concat(other, "\n"), status
end

--- Evaluates text (the file `path`) in a child process with limits (see the top).
-- -> { config = config } | { message =, problems = } | nil, message
function M.run(text, path, limits)
  local input = os.tmpname()
  local f, ferr = io.open(input, "wb")
  if not f then
    os.remove(input)
    return nil, path .. ": cannot evaluate the organization file: " .. tostring(ferr)
  end
  f:write(text)
  f:close()
  local p, perr = io.popen(command(input, path, limits), "r")
  if not p then
    os.remove(input)
    return nil, path .. ": cannot evaluate the organization file: " .. tostring(perr)
  end
  local parts, size = {}, 0
  while true do
    local chunk = p:read(65536)
    if not chunk then break end
    size = size + #chunk
    if size > M.MAX_OUTPUT then break end
    parts[#parts + 1] = chunk
  end
  local _, how, code = p:close()
  os.remove(input)
  if size > M.MAX_OUTPUT then
    return nil, path .. ": the organization file declares more than " .. math.floor(M.MAX_OUTPUT / 1048576) .. " MB"
  end
  local line, payload, other, status = parse(table.concat(parts))
  if how == nil and status then -- 5.1: the shell's word for it (128 + N: killed by signal N)
    how, code = "exit", status
  end
  if payload then
    local result, why = M.decode(payload)
    if type(result) ~= "table" then return nil, path .. ": cannot read what the evaluation gave: " .. tostring(why) end
    if result.config == nil and type(result.message) ~= "string" then
      return nil, path .. ": cannot read what the evaluation gave: no configuration and no message"
    end
    return result
  end
  line = line or 1
  -- No result: killed (the clock: timeout's 124, processor time: SIGXCPU, also through timeout
  -- as 128 + 24), or it could not run.
  local killed = how == "exit" and (code == 124 or code == 137 or code == 152)
  if killed or (how == "signal" and (code == 24 or code == 9)) then
    local dsl = require "anthropic.reconcile.dsl"
    return nil, dsl.time_message(path, line, limits.seconds)
  end
  if (how == "exit" and code == 139) or (how == "signal" and code == 11) then -- SIGSEGV
    -- (LuaJIT 2.1 crashes on a recursion through a library call, ("x"):gsub(".", f) in f, where
    -- 5.4 says "C stack overflow": that is why the file runs in a child)
    return nil, string.format("%s:%d: the organization file crashed the interpreter %s (a segmentation fault; "
      .. "a recursion through a library call does this to LuaJIT)", path, line, interpreter())
  end
  if other:match("not enough memory") then
    local dsl = require "anthropic.reconcile.dsl"
    return nil, dsl.memory_message(path, line, limits.memory_mb)
  end
  local said = other:match("^X(.*)") or other:match("^V(.*)") and ("the interpreter " .. interpreter() .. " is "
    .. other:match("^V(.*)") .. ", not Lua 5.1, 5.3 or 5.4 (set anthropic.reconcile.bounded.interpreter)") or other
  return nil, string.format("%s: cannot evaluate the organization file with %s (%s %s)%s", path, interpreter(),
    tostring(how), tostring(code), said ~= "" and (": " .. said) or "")
end

return M
