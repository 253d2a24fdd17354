-- `anthropic export`: an organization file for the live organization (docs/reconcile.md).
local rcli = require "anthropic.reconcile.cli"
local reconcile = require "anthropic.reconcile"

local USAGE = [[
usage: anthropic export [--out FILE]

Writes an organization file (Lua) describing the live organization: its members and pending
invites, and each workspace with its tags, members and API keys. Planning the file against the
same organization shows no changes, so an existing organization can be adopted:

  anthropic export > org.lua && anthropic plan org.lua     # exit status 0: nothing to change

  --out FILE      write to FILE instead of standard output

A name an organization file may not use (a control character, a right-to-left override, a
leading or trailing space; see docs/reconcile.md) is written escaped, in lines commented out
under a WARNING comment, and the warning is printed on standard error.

The admin key comes from ANTHROPIC_ADMIN_KEY, never from the command line.
]]

return function(args)
  local opts, pos = rcli.parse("export", USAGE, args, { out = "string" }, 0)
  if not opts then return pos end
  local admin, aerr = rcli.admin()
  if not admin then return rcli.fail("export", aerr) end
  local warnings = {}
  local text, err = reconcile.export(admin, { warnings = warnings })
  admin:close()
  if not text then return rcli.fail("export", err) end
  for _, w in ipairs(warnings) do io.stderr:write("anthropic export: warning: ", w, "\n") end
  if opts.out then
    local ok, werr = rcli.write_file(opts.out, text)
    if not ok then return rcli.fail("export", "cannot write " .. opts.out .. ": " .. tostring(werr)) end
  else
    io.stdout:write(text)
  end
  return rcli.OK
end
