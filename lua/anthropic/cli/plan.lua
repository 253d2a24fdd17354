-- `anthropic plan FILE`: what applying an organization file would change (docs/reconcile.md).
local rcli = require "anthropic.reconcile.cli"
local reconcile = require "anthropic.reconcile"

local USAGE = [[
usage: anthropic plan FILE [options]

Reads the organization and shows what `anthropic apply FILE` would change: + create, ~ update,
- remove, ! archive (final), ? what this tool does not do (the API cannot, or not managed).

  --json                 print the plan as versioned JSON instead of text
  --out PLAN.json        also save the plan, with a fingerprint of what was read, for
                         `anthropic apply PLAN.json` (which refuses it once the organization changed)
]] .. rcli.SAFETY_USAGE .. [[

Exit status: 0 no changes, 2 changes, 1 error (a bad file, a read error, a refused plan).
The admin key comes from ANTHROPIC_ADMIN_KEY, never from the command line.
]]

return function(args)
  local opts, pos = rcli.parse("plan", USAGE, args, rcli.with_safety { json = "boolean", out = "string" }, 1)
  if not opts then return pos end
  local config, lerr = rcli.load(pos[1])
  if not config then return rcli.fail("plan", lerr) end
  local admin, aerr = rcli.admin()
  if not admin then return rcli.fail("plan", aerr) end
  local plan, err = reconcile.plan(admin, config, rcli.options(opts))
  admin:close()
  if not plan then return rcli.fail("plan", err) end
  local doc = reconcile.render.document(plan)
  if opts.out then
    local ok, werr = rcli.write_file(opts.out, reconcile.render.encode(doc))
    if not ok then return rcli.fail("plan", "cannot write " .. opts.out .. ": " .. tostring(werr)) end
  end
  if opts.json then
    io.stdout:write(reconcile.render.encode(doc))
  else
    io.stdout:write(reconcile.render.human(plan))
    if opts.out and #plan.refusals == 0 then
      io.stdout:write("Saved to ", opts.out, "; apply exactly this plan with: anthropic apply ", opts.out, "\n")
    end
  end
  if #plan.refusals > 0 then
    for _, r in ipairs(plan.refusals) do io.stderr:write("anthropic plan: refused: ", r.message, "\n") end
    return rcli.ERROR
  end
  return plan.summary.changes > 0 and rcli.CHANGES or rcli.OK
end
