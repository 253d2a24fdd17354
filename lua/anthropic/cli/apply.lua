-- `anthropic apply FILE | PLAN.json`: make the organization match a file, or carry out exactly a
-- plan saved by `anthropic plan --out` (docs/reconcile.md).
local json = require "anthropic.json"
local rcli = require "anthropic.reconcile.cli"
local reconcile = require "anthropic.reconcile"

local USAGE = [[
usage: anthropic apply FILE [options]
       anthropic apply PLAN.json [options]

With an organization file: plans (as `anthropic plan FILE` shows), asks, applies wave by wave,
then plans again to check that the organization matches the file.
With a plan saved by `anthropic plan --out PLAN.json`: refuses it when the organization changed
since (the plan is stale), when an action does not fit the organization (an edited plan), or when
it breaks a safety rail without the flag below that allows it (the flags of this command count,
not those the plan was made with); else asks and carries out exactly its actions.

  --yes                  do not ask for confirmation
]] .. rcli.SAFETY_USAGE .. [[

Running apply again after a partial failure is safe: it picks up what is left. Removing what is
already gone counts as done, and a create whose answer was lost is found again, not repeated.

Ctrl-C stops between actions (the one under way is finished) and says what was done: exit 130.

Exit status: 0 when the organization matches (everything was applied), 1 otherwise.
The admin key comes from ANTHROPIC_ADMIN_KEY, never from the command line.
]]

local OUTCOME = { done = "done   ", adopted = "adopted", failed = "FAILED ", skipped = "skipped" }

local function progress(a, outcome, detail)
  local line = string.format("  %s %s %s", OUTCOME[outcome] or outcome, a.symbol, a.address)
  if detail then line = line .. ": " .. tostring(detail) end
  io.stdout:write(line, "\n")
  io.stdout:flush()
end

-- Ctrl-C while actions run: the action under way finishes (its answer is read), then apply stops
-- before the next one and says what was done (exit 130). A second Ctrl-C ends the process at once.
local STOP = setmetatable({}, { __tostring = function() return "interrupted" end })

local function execute(admin, plan, options, total)
  local core = require "anthropic.core"
  local seen = 0
  local on_action = options.on_action
  options.on_action = function(a, outcome, detail)
    seen = seen + 1
    on_action(a, outcome, detail)
    if core.sigint_caught() then error(STOP, 0) end
  end
  core.sigint_trap(true)
  local ok, result, err = pcall(reconcile.execute, admin, plan, options)
  core.sigint_trap(false)
  options.on_action = on_action
  if ok then return result, err end
  if result ~= STOP then error(result, 0) end
  io.stdout:write(string.format("\nInterrupted after %d of %d actions (those above were done as shown); "
    .. "the rest were not started.\n", seen, total))
  io.stdout:flush()
  return nil, nil, true
end

local function count_actions(plan)
  local n = 0
  for _, a in ipairs(plan.actions or {}) do
    if a.executable then n = n + 1 end
  end
  return n
end

local function confirm(plan, yes)
  if yes then return true end
  io.stdout:write(string.format("\nApply these changes to organization %q? Type yes to go on: ",
    tostring(plan.organization and plan.organization.name)))
  io.stdout:flush()
  local answer = io.stdin:read("*l")
  if answer and answer:match("^%s*yes%s*$") then return true end
  io.stdout:write("\n")
  io.stderr:write("anthropic apply: not applied\n")
  return false
end

local function summary(result)
  local adopted = 0
  for _, d in ipairs(result.done) do
    if d.outcome == "adopted" then adopted = adopted + 1 end
  end
  return string.format("Applied: %d done%s, %d failed, %d skipped.", #result.done,
    adopted > 0 and (" (" .. adopted .. " found already made and adopted)") or "", #result.failed, #result.skipped)
end

-- A saved plan: the decoded document, or nil when the file is not JSON.
local function saved_plan(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  if not text:match("^%s*{") then return nil end
  local doc, err = json.decode(text)
  if not doc then return nil, path .. ": not valid JSON (" .. tostring(err) .. ")" end
  return doc
end

local function apply_saved(admin, doc, opts)
  local ok, err = reconcile.check_saved(admin, doc, rcli.options(opts))
  if not ok then return rcli.fail("apply", err) end
  io.stdout:write(reconcile.render.human(doc))
  if doc.summary.changes == 0 then return rcli.OK end
  if not confirm(doc, opts.yes) then return rcli.ERROR end
  io.stdout:write("\n")
  local result, stopped
  result, err, stopped = execute(admin, doc, { on_action = progress }, count_actions(doc))
  if stopped then
    io.stderr:write("anthropic apply: interrupted; plan again (`anthropic plan`) to see what is left\n")
    return 130
  end
  if not result then return rcli.fail("apply", err) end
  io.stdout:write("\n", summary(result), "\n")
  return (#result.failed == 0 and #result.skipped == 0) and rcli.OK or rcli.ERROR
end

local function apply_file(admin, path, opts)
  local config, lerr = rcli.load(path)
  if not config then return rcli.fail("apply", lerr) end
  local options = rcli.options(opts)
  local plan, err = reconcile.plan(admin, config, options)
  if not plan then return rcli.fail("apply", err) end
  io.stdout:write(reconcile.render.human(plan))
  if #plan.refusals > 0 then
    for _, r in ipairs(plan.refusals) do io.stderr:write("anthropic apply: refused: ", r.message, "\n") end
    return rcli.ERROR
  end
  if plan.summary.changes == 0 then return rcli.OK end
  if not confirm(plan, opts.yes) then return rcli.ERROR end
  io.stdout:write("\n")
  options.on_action = progress
  local result, stopped
  result, err, stopped = execute(admin, plan, options, count_actions(plan))
  if stopped then
    io.stderr:write("anthropic apply: interrupted; run `anthropic apply ", path, "` again to carry on\n")
    return 130
  end
  if not result then return rcli.fail("apply", err) end
  io.stdout:write("\n", summary(result), "\n")
  options.on_action = nil
  result, err = reconcile.verify(admin, config, result, plan, options)
  if not result then return rcli.fail("apply", "checking the result: " .. tostring(err)) end
  if result.converged then
    io.stdout:write("The organization matches ", path, ".\n")
    return rcli.OK
  end
  io.stdout:write("Not there yet: ", reconcile.render.summary_line(result.after.summary),
    " Run `anthropic apply ", path, "` again.\n")
  return rcli.ERROR
end

return function(args)
  local opts, pos = rcli.parse("apply", USAGE, args, rcli.with_safety { yes = "boolean" }, 1)
  if not opts then return pos end
  local doc, derr = saved_plan(pos[1])
  if derr then return rcli.fail("apply", derr) end
  local admin, aerr = rcli.admin()
  if not admin then return rcli.fail("apply", aerr) end
  local ok, code = pcall(function()
    if doc then return apply_saved(admin, doc, opts) end
    return apply_file(admin, pos[1], opts)
  end)
  admin:close()
  if not ok then error(code, 0) end
  return code
end
