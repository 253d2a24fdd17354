--- Tasks: run client calls concurrently in coroutines, without blocking the host.
--   local t = anthropic.spawn(function() return client.messages:create(params) end)
--   anthropic.poll(0)      -- from a host loop: advance everything, never block
--   anthropic.run()        -- or run every task to completion
--   local msg, err = t:wait()
-- Inside a task every client call yields where it would block; the one shared engine moves the
-- bytes of all of them. See docs/tasks.md.
local core = require "anthropic.core"
local transport = require "anthropic.transport"
local options = require "anthropic.options"
local compat = require "anthropic.compat"

local M = {}

-- The numbers these functions take (options.lua; the table in docs/getting-started.md).
M.ARGS = {
  sleep = { type = "number", unit = "seconds", min = 0, max = 86400 },
  poll = { type = "number", unit = "seconds", min = 0, max = 86400, default = 0 },
}

local Task = {}
Task.__index = Task
Task.__name = "anthropic.task"

local by_coroutine = setmetatable({}, { __mode = "k" })
local runnable = {}   -- tasks to resume at the next chance (new, or their wait is over)
local waiting = {}    -- task -> ready() predicate
local later = {}      -- tasks that yielded on their own, resumed at the next poll
local timers = {}     -- task -> the time (core.now) its tasks.sleep() ends
local live = 0
-- What collect_ready saw last: the engine and its change count (eng:changes(), which moves when
-- a transfer is done, started or has an event queued), and whether a task finished since. A
-- waiting task's predicate can only have become true through one of those or a timer.
local seen_engine, seen_changes, task_finished = nil, nil, false

local function finish(task, ok, ...)
  -- (a task that failed while it waited, e.g. a yield PUC 5.1 refused, waits no more)
  waiting[task], timers[task] = nil, nil
  task.done = true
  task_finished = true
  live = live - 1
  by_coroutine[task.co] = nil
  if ok then
    task.results = compat.pack(...)
  else
    task.error = (...)
  end
end

local function resumed(task, ...)
  if coroutine.status(task.co) == "dead" then
    finish(task, ...)
  elseif not waiting[task] then
    later[#later + 1] = task -- a plain coroutine.yield(): let the others run, resume next poll
  end
end

-- (The results pass through varargs: no table per resume.)
local function resume(task)
  local args = task.args
  if args then
    task.args = nil
    return resumed(task, coroutine.resume(task.co, compat.unpack(args, 1, args.n)))
  end
  return resumed(task, coroutine.resume(task.co))
end

local running = compat.running -- (the task's coroutine, also inside compat.pcall's on 5.1)

-- On PUC 5.1, a wait that cannot yield (docs/embedding.md): say where, and what to do instead.
local function cannot_yield(where)
  error("anthropic: a task cannot wait inside " .. where .. " on PUC Lua 5.1, which cannot yield "
    .. "there: inside a task, read a stream with s:next(), or call the iterator yourself "
    .. "(local next_text = s:text(); local text = next_text()) instead of a for loop, and use "
    .. "require(\"anthropic.compat\").pcall instead of pcall; LuaJIT and Lua 5.2+ have no such limit", 0)
end

-- Yield from inside a task until ready(); block outside of one.
local block = transport.await
function transport.await(ready)
  local task = by_coroutine[running()]
  if not task then return block(ready) end
  if ready() then return end
  local where = compat.cannot_yield()
  if where then cannot_yield(where) end
  waiting[task] = ready
  coroutine.yield()
end

-- Seconds until the first sleeping task wakes (0 when one is due), or nil when none sleeps.
local function next_timer()
  local first
  for _, due in pairs(timers) do
    if not first or due < first then first = due end
  end
  return first and math.max(0, first - core.now())
end

local function collect_ready()
  local engine = transport.engine()
  local changes = engine:changes()
  if engine == seen_engine and changes == seen_changes and not task_finished
      and not (next(timers) and next_timer() == 0) then
    return -- nothing a waiting task's predicate depends on has moved
  end
  seen_engine, seen_changes, task_finished = engine, changes, false
  for task, ready in pairs(waiting) do
    if ready() then
      waiting[task] = nil
      timers[task] = nil
      runnable[#runnable + 1] = task
    end
  end
end

-- Seconds until something can happen: a transfer's timer or a sleeping task; nil when idle.
local function next_event(engine)
  local t, s = engine:timeout(), next_timer()
  if t and s then return math.min(t, s) end
  return t or s
end

M.now = core.now

--- Sleep `seconds`: inside a task, yield (the others run) until the time has come; outside one,
-- drive the shared engine (transfers and tasks progress) until then.
function M.sleep(seconds)
  options.assert(M.ARGS.sleep, seconds, "tasks.sleep: argument #1 (seconds)", 2)
  local due = core.now() + seconds
  local task = by_coroutine[running()]
  if task then
    timers[task] = due
    transport.await(function() return core.now() >= due end)
    timers[task] = nil
    return
  end
  while true do
    local left = due - core.now()
    if left <= 0 then return end
    if live > 0 then
      M.poll(left)
    else
      local engine = transport.engine()
      local t = engine:timeout()
      if t then engine:wait(math.min(left, t)) else core.sleep(left) end
    end
  end
end

local spare = {} -- an empty list for the next batch (two lists take turns: no table per batch)

local function run_runnable()
  while #runnable > 0 do
    local batch = runnable
    runnable, spare = spare or {}, nil -- (a nested poll from inside a task finds none spare)
    for _, task in ipairs(batch) do resume(task) end
    for i = #batch, 1, -1 do batch[i] = nil end
    spare = batch
    collect_ready() -- answers that were already complete, or tasks waiting for these
  end
end

--- Start fn(...) as a task; it first runs at the next poll(), run() or wait().
function M.spawn(fn, ...)
  if type(fn) ~= "function" then error("anthropic.spawn expects a function (got " .. type(fn) .. ")", 2) end
  local task = setmetatable({ co = coroutine.create(fn), args = compat.pack(...), done = false }, Task)
  by_coroutine[task.co] = task
  live = live + 1
  runnable[#runnable + 1] = task
  return task
end

--- Advance every task without blocking longer than timeout seconds (default 0) -> live tasks.
function M.poll(timeout)
  timeout = timeout or 0
  options.assert(M.ARGS.poll, timeout, "anthropic.poll: argument #1 (timeout)", 2)
  local engine = transport.engine()
  local deadline = core.now() + timeout
  if #later > 0 then
    for _, task in ipairs(later) do runnable[#runnable + 1] = task end
    later = {}
  end
  run_runnable()
  engine:step()
  collect_ready()
  while #runnable == 0 and live > 0 do
    local left = deadline - core.now()
    local t = next_event(engine)
    if left <= 0 or not t then break end
    if engine:timeout() then engine:wait(math.min(left, t)) else core.sleep(math.min(left, t)) end
    collect_ready()
  end
  run_runnable()
  return live
end

-- Nothing can make progress: tasks wait, none can run, and no transfer is in flight.
local function stuck()
  collect_ready()
  return #runnable == 0 and #later == 0 and not next_event(transport.engine())
end

--- Run until every task is done. Raises when tasks wait for something that cannot happen.
function M.run()
  while live > 0 do
    M.poll(1)
    if live > 0 and stuck() then
      error(string.format("anthropic.run: %d task(s) wait and nothing is in flight", live), 2)
    end
  end
end

--- Number of tasks not finished.
function M.count()
  return live
end

--- For hosts with their own event loop: seconds until poll() has work (0: call it now), or nil
-- when nothing is pending (wait on pollfd() alone).
function M.timeout()
  collect_ready()
  if #runnable > 0 or #later > 0 then return 0 end
  return next_event(transport.engine())
end

--- For hosts with their own event loop: one descriptor that becomes readable when a transfer
-- has something to do. Wait for it (or for timeout()), then call poll(0). -> fd | nil, message
function M.pollfd()
  return transport.engine():pollfd()
end

--- The same as an object following the cqueues "pollable" convention (pollfd, events, timeout),
-- for schedulers that take such objects (cqueues.poll, and loops modelled on it).
function M.pollable()
  return {
    pollfd = function() return (M.pollfd()) end,
    events = function() return "r" end,
    timeout = function() return M.timeout() end,
  }
end

--- Wait for the task (yielding inside another task) -> its results | nil, err when it raised.
function Task:wait()
  if getmetatable(self) ~= Task then error("task:wait must be called with a colon: task:wait()", 2) end
  local current = by_coroutine[running()]
  if current == self then error("a task cannot wait for itself", 2) end
  if current then
    transport.await(function() return self.done end)
  else
    while not self.done do
      M.poll(1)
      if not self.done and stuck() then error("task:wait(): the task waits and nothing is in flight", 2) end
    end
  end
  if self.error ~= nil then return nil, self.error end
  return compat.unpack(self.results, 1, self.results.n)
end

function Task:__tostring()
  return "anthropic.task (" .. (self.done and (self.error ~= nil and "failed" or "done") or "running") .. ")"
end

return M
