-- `anthropic emulator [--port N] [--seed FILE] [--tls] [--verbose]`: serves the emulator on 127.0.0.1 until SIGTERM,
-- SIGINT or POST /_emulator/shutdown. Keys come from ANTHROPIC_EMULATOR_KEYS (comma-separated)
-- and POST /_emulator/keys, never from the command line.
local USAGE = [==[
usage: anthropic emulator [--port N] [--seed FILE] [--tls [--tls-dir DIR]] [--verbose] [--no-keys]

  --port N            port on 127.0.0.1 (0 or absent: a free port chosen by the system)
  --seed FILE         the organization to start with (.json, or .lua returning a table);
                      without it, a small default organization
  --tls               serve HTTPS, with a CA and a certificate (127.0.0.1, localhost) made
                      with openssl for this run; prints "ca file: PATH" after the
                      listening line (give it to clients as ca_file); needs lua-sec
  --tls-dir DIR       with --tls: the certificate is DIR/cert.pem and DIR/key.pem, made
                      there (with DIR/ca.pem) when absent; kept after exit
  --verbose, -v       print one line per request (method, path, status, key hint)
  --exit-on-stdin-eof stop when standard input reaches end of file (for test harnesses)
  --no-keys           start with no keys (they are added later with POST /_emulator/keys);
                      without it, no key in ANTHROPIC_EMULATOR_KEYS is an error

Prints "listening on http://127.0.0.1:PORT" (https:// with --tls) once ready. Keys: ANTHROPIC_EMULATOR_KEYS
(comma-separated) or POST /_emulator/keys. See docs/emulator.md.
]==]

local function fail(msg) -- only usage errors come here: exit 2, as every command
  io.stderr:write("anthropic emulator: ", msg, "\n", USAGE)
  return 2
end

return function(args)
  local port, verbose, watch_stdin, seed, tls, tls_dir = 0, false, false, nil, false, nil
  local no_keys = false
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
    elseif a == "--tls" then
      tls = true
    elseif a == "--tls-dir" or a:match("^%-%-tls%-dir=") then
      tls_dir = a:match("^%-%-tls%-dir=(.*)$")
      if not tls_dir then
        i = i + 1
        tls_dir = args[i]
      end
      if not tls_dir or tls_dir == "" then return fail("--tls-dir needs a directory") end
    elseif a == "--verbose" or a == "-v" then
      verbose = true
    elseif a == "--exit-on-stdin-eof" then
      watch_stdin = true
    elseif a == "--no-keys" then
      no_keys = true
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

  if tls_dir and not tls then return fail("--tls-dir goes with --tls") end
  local tlsmod, own_dir
  if tls then
    tlsmod = require "anthropic.emulator.tls"
    local ok, terr = tlsmod.available()
    if ok and not tls_dir then
      own_dir, terr = tlsmod.tmpdir()
      tls_dir, ok = own_dir, own_dir ~= nil
    end
    if ok and not tlsmod.exists(tls_dir .. "/cert.pem") then ok, terr = tlsmod.make(tls_dir) end
    if not ok then
      tlsmod.rmdir(own_dir)
      io.stderr:write("anthropic emulator: --tls: ", tostring(terr), "\n")
      return 1
    end
  end
  local function cleanup()
    if own_dir then tlsmod.rmdir(own_dir) end
  end

  local emulator = require "anthropic.emulator"
  local emu, err = emulator.new { verbose = verbose, seed = seed }
  if not emu then
    io.stderr:write("anthropic emulator: ", tostring(err), "\n")
    cleanup()
    return 1
  end
  if emu.state:add_keys_from(os.getenv("ANTHROPIC_EMULATOR_KEYS")) == 0 and not no_keys then
    -- an emulator without keys answers every request 401: say so now, with the fix
    io.stderr:write("anthropic emulator: no keys: ANTHROPIC_EMULATOR_KEYS is ",
      os.getenv("ANTHROPIC_EMULATOR_KEYS") and "set but holds no key" or "not set", ". Give the keys clients will "
      .. "use, comma-separated, for example:\n"
      .. "  key=\"sk-ant-api03-local-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')AA\"\n"
      .. "  ANTHROPIC_EMULATOR_KEYS=\"$key\" anthropic emulator\n"
      .. "or start it with --no-keys and add them with POST /_emulator/keys.\n")
    cleanup()
    return 1
  end
  emu.org:link_keys()
  err = select(2, emu:listen(port, tls and tls_dir or nil))
  if not emu.url then
    io.stderr:write("anthropic emulator: cannot listen on 127.0.0.1:", tostring(port), ": ", tostring(err), "\n")
    cleanup()
    return 1
  end
  if watch_stdin then
    local stdin = { getfd = function() return 0 end, dirty = function() return false end }
    emu.server:watch(stdin, function()
      if io.stdin:read(1) == nil then emu:stop() end
    end)
  end
  io.stdout:write("listening on ", emu.url, "\n")
  if tls then io.stdout:write("ca file: ", tls_dir, "/ca.pem\n") end
  io.stdout:flush()
  local ok, e = pcall(emu.run, emu)
  cleanup()
  if not ok then
    emu:close()
    if tostring(e):find("interrupted") then return 130 end
    io.stderr:write("anthropic emulator: ", tostring(e), "\n")
    return 1
  end
  return 0
end
