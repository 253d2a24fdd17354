-- make conformance: start the emulator (spec/helpers/emulator.lua, the one way tests start it)
-- with a fresh API key, run conformance/checks.mjs with the official SDK against it, stop it.
-- The key travels only through the environment file util.run writes (mode 0600), never argv.
package.path = "./lua/?.lua;./lua/?/init.lua;./spec/?.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local key = emulator.make_key("api03")
local admin_key = emulator.make_key("admin01") -- the Admin API checks' key
local emu = emulator.start { keys = { key, admin_key } }
local out, err, status = util.run({ "node", "conformance/checks.mjs" },
  { ANTHROPIC_API_KEY = key, ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_BASE_URL = emu.url })
emu:stop()
io.stdout:write(out)
io.stderr:write(err)
util.assert_no_leak(out .. err, key, "the conformance run's output")
util.assert_no_leak(out .. err, admin_key, "the conformance run's output")
os.exit(status == 0 and 0 or 1)
