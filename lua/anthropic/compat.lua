--- What differs between Lua 5.4, 5.3, 5.1 and LuaJIT 2.1, for the files a host embeds (the
-- client, streams, tasks, batches, admin, reconcile as a library). Each is the VM's own function
-- where it has one. docs/embedding.md says what a 5.1 user gets.
--   compat.pack(...), compat.unpack(t, i, j)   table.pack/table.unpack (5.1: unpack, n counted)
--   compat.is_integer(v)      an integer: math.type on 5.3+; on 5.1 a whole number (all numbers
--                             are doubles there, so a whole float counts and 2^53 + 1 is 2^53)
--   compat.tointeger(v)       math.tointeger, or the whole number v (nil when it is not one)
--   compat.load(text, name, env)   a text chunk with env as its globals (5.1: loadstring + setfenv)
--   compat.on_collect(t, fn)  on 5.1 and LuaJIT (tables have no __gc there): fn(t) when the
--                             collector takes table t, through a userdata sentinel kept in t. On
--                             5.2+ nothing: t's metatable carries __gc = fn itself
--   compat.utf8               the utf8 library (5.3+), or the same functions in Lua
--   compat.INTEGERS           true when the VM has 64-bit integers (5.3+)
--   compat.pcall(f, ...)      pcall, and on PUC 5.1 (which cannot yield across pcall) one in the
--                             manner of coxpcall: f runs in a coroutine of its own whose yields
--                             are passed on, so a task can wait inside it
--   compat.running()          coroutine.running(), seen through compat.pcall's coroutines: the
--                             coroutine a yield reaches in the end (nil on 5.1's main thread)
--   compat.YIELD_IN_PCALL, compat.YIELD_IN_FOR   whether a coroutine can yield inside pcall, and
--                             inside a for loop's iterator (both false on PUC 5.1 only)
--   compat.cannot_yield()     nil when a yield here reaches the task's coroutine; on PUC 5.1,
--                             what stands in the way ("a for loop's iterator", "pcall (a C
--                             function)") when the stack holds one
local M = {}

M.pack = table.pack or function(...) return { n = select("#", ...), ... } end
M.unpack = table.unpack or rawget(_G, "unpack") -- (unpack: the 5.1 global)

local math_type = math.type
M.INTEGERS = math_type ~= nil

function M.is_integer(v)
  if math_type then return math_type(v) == "integer" end
  return type(v) == "number" and v == math.floor(v) and v > -2 ^ 63 and v < 2 ^ 63
end

M.tointeger = math.tointeger or function(v)
  if type(v) == "number" and v == math.floor(v) and v > -2 ^ 63 and v < 2 ^ 63 then return v end
  return nil
end

local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")
function M.load(text, name, env)
  if setfenv and loadstring then -- 5.1 and LuaJIT: load() takes no env on 5.1
    if text:byte(1) == 27 then return nil, "attempt to load a binary chunk" end
    local chunk, err = loadstring(text, name)
    if chunk then setfenv(chunk, env) end
    return chunk, err
  end
  return load(text, name, "t", env)
end

-- Whether a coroutine can yield from inside fn(body) (the VM's own test: try it).
local function can_yield(fn)
  return (coroutine.resume(coroutine.create(function() fn(coroutine.yield) end)))
end
M.YIELD_IN_PCALL = can_yield(function(y) assert(pcall(y)) end)
M.YIELD_IN_FOR = can_yield(function(y) for _ in function() y() end do break end end) -- luacheck: ignore 512

local getinfo = debug and debug.getinfo
local running, resume, status, yield = coroutine.running, coroutine.resume, coroutine.status, coroutine.yield
local parent = setmetatable({}, { __mode = "k" }) -- compat.pcall's coroutine -> the one it runs in

if M.YIELD_IN_PCALL then
  M.pcall = pcall
  M.running = running
else
  -- (resumed: what the inner coroutine gave back; a yield goes on to the outer one, whose answer
  -- resumes the inner one; a tail call per round, so no stack grows)
  local function step(co, ok, ...)
    if not ok then return false, ... end
    if status(co) == "dead" then return true, ... end
    if not parent[co] then -- (outside any coroutine pcall would have caught the failed yield)
      return false, "attempt to yield from outside a coroutine"
    end
    return step(co, resume(co, yield(...)))
  end
  function M.pcall(f, ...)
    -- (a C function, or a callable table: the VM's pcall, as nothing in them can yield anyway)
    if type(f) ~= "function" or getinfo and getinfo(f, "S").what == "C" then return pcall(f, ...) end
    local co = coroutine.create(f)
    parent[co] = running()
    return step(co, resume(co, ...))
  end
  function M.running()
    local co = running()
    while co and parent[co] do co = parent[co] end
    return co
  end
end

function M.cannot_yield()
  if M.YIELD_IN_FOR and M.YIELD_IN_PCALL or not getinfo then return nil end
  local co = running()
  while co do
    -- (level 0: getinfo itself in this coroutine, and in each outer one the resume that runs
    -- the inner: neither stands in the way)
    local level = 1
    while true do
      local info = getinfo(co, level, "Sn")
      if not info then break end
      if info.name == "(for generator)" then return "a for loop's iterator" end
      if info.what == "C" then
        return (info.name and info.name .. " " or "") .. "(a C function)"
      end
      level = level + 1
    end
    co = parent[co]
  end
  return nil
end

-- 5.1 has newproxy (an undocumented base function) and no table __gc; 5.2+ the reverse.
local newproxy = rawget(_G, "newproxy")
function M.on_collect(t, fn)
  if not newproxy then return t end
  local sentinel = newproxy(true)
  getmetatable(sentinel).__gc = function() fn(t) end
  rawset(t, "__sentinel", sentinel) -- collected with t: the cycle t -> sentinel -> fn -> t is garbage as a whole
  return t
end

if rawget(_G, "utf8") then
  M.utf8 = utf8
else
  -- utf8 of Lua 5.3 (strict: no surrogates, no overlong forms, at most U+10FFFF), as used here
  local u = { charpattern = "[\0-\x7F\xC2-\xFD][\x80-\xBF]*" }
  local byte, char, floor = string.byte, string.char, math.floor

  -- the code point at byte i of s and the byte after it, or nil when no valid sequence starts there
  local function decode(s, i)
    local c = byte(s, i)
    if not c then return nil end
    if c < 0x80 then return c, i + 1 end
    local n, cp, min
    if c >= 0xF0 and c < 0xF5 then n, cp, min = 3, c - 0xF0, 0x10000
    elseif c >= 0xE0 then n, cp, min = 2, c - 0xE0, 0x800
    elseif c >= 0xC2 and c < 0xE0 then n, cp, min = 1, c - 0xC0, 0x80
    else return nil end
    if c >= 0xF5 then return nil end
    for k = 1, n do
      local b = byte(s, i + k)
      if not b or b < 0x80 or b > 0xBF then return nil end
      cp = cp * 64 + (b - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
    return cp, i + n + 1
  end

  function u.char(...)
    local out = {}
    for k = 1, select("#", ...) do
      local cp = select(k, ...)
      if type(cp) ~= "number" or cp < 0 or cp > 0x7FFFFFFF or cp ~= floor(cp) then
        error("bad argument #" .. k .. " to 'char' (value out of range)", 2)
      end
      if cp < 0x80 then out[k] = char(cp)
      elseif cp < 0x800 then out[k] = char(0xC0 + floor(cp / 64), 0x80 + cp % 64)
      elseif cp < 0x10000 then
        out[k] = char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
      else
        out[k] = char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64,
          0x80 + cp % 64)
      end
    end
    return table.concat(out)
  end

  local function posrelat(pos, len)
    if pos >= 0 then return pos end
    if -pos > len then return 0 end
    return len + pos + 1
  end

  -- len(s [, i [, j]]) -> characters | nil, position of the first invalid byte
  function u.len(s, i, j)
    local len = #s
    i, j = posrelat(i or 1, len), posrelat(j or -1, len)
    local n = 0
    while i <= j do
      local _, nxt = decode(s, i)
      if not nxt then return nil, i end
      i, n = nxt, n + 1
    end
    return n
  end

  -- codepoint(s [, i [, j]]) -> the code points of the characters starting in bytes i..j
  function u.codepoint(s, i, j)
    local len = #s
    i = posrelat(i or 1, len)
    j = posrelat(j or i, len)
    if i < 1 or j > len then
      if i > j then return end
      error("bad argument to 'codepoint' (out of bounds)", 2)
    end
    local out, n = {}, 0
    while i <= j do
      local cp, nxt = decode(s, i)
      if not cp then error("invalid UTF-8 code", 2) end
      n = n + 1
      out[n] = cp
      i = nxt
    end
    return M.unpack(out, 1, n)
  end

  local function cont(s, i) local b = byte(s, i) return b and b >= 0x80 and b <= 0xBF end

  -- offset(s, n [, i]) -> the byte where the n-th character (counting from byte i) starts
  function u.offset(s, n, i)
    local len = #s
    i = posrelat(i or (n >= 0 and 1 or len + 1), len)
    if cont(s, i) and n ~= 0 then error("initial position is a continuation byte", 2) end
    if n == 0 then
      while i > 1 and cont(s, i) do i = i - 1 end
      return i
    end
    if n > 0 then
      n = n - 1
      while n > 0 and i <= len do
        repeat i = i + 1 until not cont(s, i)
        n = n - 1
      end
    else
      while n < 0 and i > 1 do
        repeat i = i - 1 until i <= 1 or not cont(s, i)
        n = n + 1
      end
    end
    if n == 0 then return i end
    return nil
  end

  -- for position, code point in codes(s): raises on invalid UTF-8, as 5.3 does
  function u.codes(s)
    return function(str, i)
      local start = i
      if start > 0 then
        local _, nxt = decode(str, start)
        if not nxt then error("invalid UTF-8 code", 2) end
        start = nxt
      else
        start = 1
      end
      if start > #str then return nil end
      local cp = decode(str, start)
      if not cp then error("invalid UTF-8 code", 2) end
      return start, cp
    end, s, 0
  end

  M.utf8 = u
end

return M
