-- `anthropic doctor [--json]`: checks the setup (the profile chosen by --profile or
-- ANTHROPIC_PROFILE, the key, the network, the API's answer) and prints one line per check with
-- PASS, WARN or FAIL and the fix (doctor.lua; docs/troubleshooting.md). Exit status 0 when no
-- check fails, 1 otherwise, 2 for a usage error. Never prints a key.
local common = require "anthropic.cli.common"
local doctor = require "anthropic.doctor"

local USAGE = [[
usage: anthropic [--profile NAME] doctor [--json]

Checks, in order: the config file and profile, where the key comes from, its format, file
permissions, reaching the API (DNS, TLS, proxy variables), authentication, the key's workspace
and status (with an admin key), rate-limit headroom, spend, deprecated models in the profile and
the API version. One line each: PASS, WARN or FAIL, and the fix. Exit status 0 when nothing
fails. --json prints the checks as a JSON array. Keys are never printed, only their hints.
See docs/troubleshooting.md.
]]

return function(args)
  local opts, code = common.parse_no_args(args, "doctor", { json = "boolean" }, USAGE)
  if not opts then return code end
  local g = common.client_options()
  local results, failed = doctor.run { profile = g.profile, api_version = g.api_version, key_file = g.key_file }
  if opts.json then
    io.stdout:write(common.encode({ ok = not failed, checks = results }), "\n")
  else
    local width = 0
    for _, r in ipairs(results) do width = math.max(width, #r.check) end
    for _, r in ipairs(results) do
      io.stdout:write(string.format("%-4s  %-" .. width .. "s  %s\n", r.status, r.check, r.message))
      if r.fix then io.stdout:write(string.rep(" ", width + 8), "fix: ", r.fix, "\n") end
    end
  end
  return failed and common.ERROR or common.OK
end
