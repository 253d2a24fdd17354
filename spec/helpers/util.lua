--- Small test utilities: temp files with modes, environment overrides, capture of everything a
-- test printed or logged (for leak scans).
local M = {}

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.sh_quote = sh_quote

--- Runs f until it returns a true value (returned), at most 5 s, else an error naming what was
-- awaited; no sleeping: each try is a round trip (to the emulator, a child process, ...).
function M.eventually(f, what)
  local socket = require "socket"
  local deadline = socket.gettime() + 5
  repeat
    local v = f()
    if v then return v end
  until socket.gettime() > deadline
  error("timed out waiting for " .. what, 2)
end

--- Lua code for a child process (M.run_lua) that measures itself: it defines status(field), a
-- /proc/self/status figure in kB (VmRSS, VmHWM).
M.PROC_STATUS = [[
local function status(field)
  for line in io.lines("/proc/self/status") do
    local v = line:match("^" .. field .. ":%s*(%d+) kB")
    if v then return tonumber(v) end
  end
end
]]

--- A fresh temp directory; removed by M.rmdir.
function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/anthropic-spec.XXXXXX")
  local dir = p:read("*l")
  p:close()
  return dir
end

function M.rmdir(dir)
  assert(dir:match("^/tmp/anthropic%-spec%."), "refusing to remove " .. dir)
  os.execute("rm -rf " .. sh_quote(dir))
end

--- Write a file with a given octal mode string ("600").
function M.write(path, content, mode)
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  os.execute("chmod " .. (mode or "600") .. " " .. sh_quote(path))
  return path
end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- os.getenv cannot be changed from Lua; the C core reads the real environment through getenv,
-- so tests change it with posix setenv through a tiny FFI-free route: a child Lua process.
--- Run a Lua snippet in a child lua5.4 with extra environment (name -> value, or false to unset)
-- and return its stdout, stderr and exit status. Values travel through a 0600 file, never argv.
function M.run_lua(code, env, dir)
  local own = not dir
  dir = dir or M.tmpdir()
  local script = M.write(dir .. "/child.lua", code, "600")
  local out, err, status = M.run({ "lua5.4", script }, env, dir)
  if own then M.rmdir(dir) end
  return out, err, status
end

--- The folder `make build LUA=...` builds the core into for the interpreter named lua (lua5.4 and
-- anything not a known VM: build/).
function M.build_dir(lua)
  local vm = M.vm(lua)
  return vm == "lua5.4" and "build" or "build-" .. vm
end

--- The VM's name (lua5.4, lua5.3, lua5.1, luajit: as pkg-config and `make LUA=` know it) of the
-- interpreter named lua; lua5.4 for anything else.
function M.vm(lua)
  local vm = tostring(lua):match("([^/]*)$")
  if vm == "lua5.3" or vm == "lua5.1" or vm == "luajit" then return vm end
  return "lua5.4"
end

--- The interpreter running the specs (spec/run-tests.sh exports LUA; lua5.4 when unset).
M.LUA = os.getenv("LUA") or "lua5.4"


-- Writes dir/env.sh (export, or unset for false: the environment a child gets, kept off argv)
-- and returns argv quoted for sh.
local function env_and_words(argv, env, dir)
  local envfile = {}
  for k, v in pairs(env or {}) do
    if v == false then
      envfile[#envfile + 1] = "unset " .. k
    else
      envfile[#envfile + 1] = "export " .. k .. "=" .. sh_quote(v)
    end
  end
  M.write(dir .. "/env.sh", table.concat(envfile, "\n") .. "\n", "600")
  local words = {}
  for i, a in ipairs(argv) do words[i] = sh_quote(a) end
  return words
end
--- Run a command (argv, run from the project root with LUA_PATH/LUA_CPATH set to the checkout) with
-- extra environment as run_lua does; -> stdout, stderr, exit status.
function M.run(argv, env, dir)
  if not dir then -- a directory of our own, removed once the outputs are read
    dir = M.tmpdir()
    local out, err, status = M.run(argv, env, dir)
    M.rmdir(dir)
    return out, err, status
  end
  local words = env_and_words(argv, env, dir)
  local cmd = string.format(". %s/env.sh; cd %s && LUA_PATH=%s LUA_CPATH=%s %s >%s/out 2>%s/err; echo $?",
    dir, sh_quote(M.root()), sh_quote("./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;"),
    sh_quote("./" .. M.build_dir(argv[1]) .. "/?.so;;"), table.concat(words, " "), dir, dir)
  local p = io.popen("sh -s", "w")
  local statusfile = dir .. "/status"
  p:write(cmd .. " >" .. statusfile .. "\n")
  p:close()
  return M.read(dir .. "/out"), M.read(dir .. "/err"), tonumber(M.read(statusfile))
end

--- Start a command (argv, as run() does) in the background with its standard output on a pipe
-- -> child: child:line() reads one line of its output (nil at the end), child:read_until(text)
-- reads until the output so far holds text (-> the output so far), child:signal(name) sends it
-- a signal ("INT"), child:wait() -> the rest of stdout, stderr, exit status. Tests synchronise on
-- what the child printed, never on time.
function M.spawn(argv, env, dir)
  local own = not dir
  dir = dir or M.tmpdir()
  local words = env_and_words(argv, env, dir)
  -- the shell prints its pid, then becomes the command (exec): that pid is the command's (under
  -- timeout --foreground, which passes a signal on to it once, so a child that never ends cannot
  -- hang the suite)
  local script = M.write(dir .. "/spawn.sh", string.format(
    ". %s/env.sh; cd %s || exit 99; echo $$; LUA_PATH=%s LUA_CPATH=%s exec timeout --foreground 120 %s "
      .. "2>%s/err </dev/null\n",
    dir, sh_quote(M.root()), sh_quote("./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;"),
    sh_quote("./build/?.so;;"), table.concat(words, " "), dir), "600")
  local p = assert(io.popen("sh " .. sh_quote(script), "r"))
  local pid = assert(tonumber(p:read("*l")), "the child did not start")
  local child = { pid = pid, out = {} }
  function child.line()
    local l = p:read("*l")
    if l then child.out[#child.out + 1] = l .. "\n" end
    return l
  end
  function child.read_until(text)
    while not table.concat(child.out):find(text, 1, true) do
      local c = p:read(1)
      if not c then break end
      child.out[#child.out + 1] = c
    end
    return table.concat(child.out)
  end
  function child.signal(name)
    os.execute(string.format("kill -%s %d", name, pid))
  end
  function child.wait()
    local rest = p:read("*a") or ""
    local _, how, code = p:close()
    local err = M.read(dir .. "/err")
    if own then M.rmdir(dir) end
    return table.concat(child.out) .. rest, err, how == "signal" and 128 + code or code
  end
  return child
end

--- The project root (where the spec runs from).
function M.root()
  local p = io.popen("pwd")
  local d = p:read("*l")
  p:close()
  return d
end

--- Every string an object shows (tostring, keys and values, nested), for leak scans.
function M.strings(v, out, seen)
  out, seen = out or {}, seen or {}
  if type(v) == "table" then
    if seen[v] then return out end
    seen[v] = true
    out[#out + 1] = tostring(v)
    for k, x in pairs(v) do
      M.strings(k, out, seen)
      M.strings(x, out, seen)
    end
  elseif v ~= nil then
    out[#out + 1] = tostring(v)
  end
  return out
end

--- Encodings of a secret a leak scan looks for: raw, base64, URL-encoded.
function M.encodings(s)
  local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local function b64(data)
    return ((data:gsub(".", function(x)
      local r, byte = "", x:byte()
      for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
      return r
    end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
      if #x < 6 then return "" end
      local c = 0
      for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
      return b64chars:sub(c + 1, c + 1)
    end) .. ({ "", "==", "=" })[#data % 3 + 1])
  end
  local url = s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end)
  -- the secret part alone too (after the sk-ant-xxx- prefix), in case a prefix is printed legitimately
  local tail = s:match("^sk%-ant%-%w+%-(.+)$") or s
  return { s, b64(s), url, tail:sub(1, 24), tail:sub(-30) }
end

--- Assert that none of the encodings of `secret` occur in `text`.
function M.assert_no_leak(text, secret, where)
  for _, needle in ipairs(M.encodings(secret)) do
    if text:find(needle, 1, true) then
      error(string.format("secret leaked in %s (found %q...)", where or "output", needle:sub(1, 6)), 2)
    end
  end
end

return M
