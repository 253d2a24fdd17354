-- `anthropic emulator [--port N] [--seed FILE] [--verbose]`: serves the emulator on 127.0.0.1 until SIGTERM,
-- SIGINT or POST /_emulator/shutdown. Keys come from ANTHROPIC_EMULATOR_KEYS (comma-separated)
-- and POST /_emulator/keys, never from the command line.
local USAGE = [[
usage: anthropic emulator [--port N] [--seed FILE] [--verbose]

  --port N            port on 127.0.0.1 (0 or absent: a free port chosen by the system)
  --seed FILE         the organization to start with (.json, or .lua returning a table);
                      without it, a small default organization
  --verbose, -v       print one line per request (method, path, status, key hint)
  --exit-on-stdin-eof stop when standard input reaches end of file (for test harnesses)

Prints "listening on http://127.0.0.1:PORT" once ready. Keys: ANTHROPIC_EMULATOR_KEYS
(comma-separated) or POST /_emulator/keys. See docs/emulator.md.
]]

local function fail(msg) -- only usage errors come here: exit 2, as every command
  io.stderr:write("anthropic emulator: ", msg, "\n", USAGE)
  return 2
end

return function(args)
  local port, verbose, watch_stdin, seed = 0, false, false, nil
  local i = 1
  while i <= #args do
    local a = args[i]
    local value = a:match("^%-%-port=(.*)$")
    if a == "--port" then
      i = i + 1
      value = args[i]
    end
    if value ~= nil or a == "--port" then
      port = value and value:match("^%d+$") and tonumber(value)
      if not port or port > 65535 then return fail("--port needs a number from 0 to 65535") end
    elseif a == "--seed" or a:match("^%-%-seed=") then
      seed = a:match("^%-%-seed=(.*)$")
      if not seed then
        i = i + 1
        seed = args[i]
      end
      if not seed or seed == "" then return fail("--seed needs a file") end
    elseif a == "--verbose" or a == "-v" then
      verbose = true
    elseif a == "--exit-on-stdin-eof" then
      watch_stdin = true
    elseif a == "--help" or a == "-h" then
      io.stdout:write(USAGE)
      return 0
    elseif a:find("key", 1, true) then
      return fail("keys are never given on the command line; use ANTHROPIC_EMULATOR_KEYS or POST /_emulator/keys")
    else
      return fail("unknown option " .. a)
    end
    i = i + 1
  end

  local emulator = require "anthropic.emulator"
  local emu, err = emulator.new { verbose = verbose, seed = seed }
  if not emu then
    io.stderr:write("anthropic emulator: ", tostring(err), "\n")
    return 1
  end
  emu.state:add_keys_from(os.getenv("ANTHROPIC_EMULATOR_KEYS"))
  emu.org:link_keys()
  err = select(2, emu:listen(port))
  if not emu.url then
    io.stderr:write("anthropic emulator: cannot listen on 127.0.0.1:", tostring(port), ": ", tostring(err), "\n")
    return 1
  end
  if watch_stdin then
    local stdin = { getfd = function() return 0 end, dirty = function() return false end }
    emu.server:watch(stdin, function()
      if io.stdin:read(1) == nil then emu:stop() end
    end)
  end
  io.stdout:write("listening on ", emu.url, "\n")
  io.stdout:flush()
  local ok, e = pcall(emu.run, emu)
  if not ok then
    emu:close()
    if tostring(e):find("interrupted") then return 130 end
    io.stderr:write("anthropic emulator: ", tostring(e), "\n")
    return 1
  end
  return 0
end
