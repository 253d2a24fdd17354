-- Runs inside `nvim --headless` for spec/nvim_spec.lua: loads examples/nvim, plays one case
-- (CLAUDE_SPEC_CASE) and writes what it saw as JSON to CLAUDE_SPEC_OUT, then quits. Every wait is
-- vim.wait on a condition with a time limit; running out of time is a failure written to the file.
-- The key and the emulator's URL come from the environment, as the library reads them.
local uv = vim.uv or vim.loop
local case, out_path = os.getenv("CLAUDE_SPEC_CASE"), os.getenv("CLAUDE_SPEC_OUT")
local result = { case = case, notes = {} }

-- every notification, as shown (and still shown: the spec scans :messages and stderr too)
local show = vim.notify
vim.notify = function(msg, level, opts) -- luacheck: ignore 122
  result.notes[#result.notes + 1] = { msg = tostring(msg), level = level }
  return show(msg, level, opts)
end

local function ms_since(t0) return (uv.hrtime() - t0) / 1e6 end

local function wait_for(what, seconds, cond)
  if not vim.wait(seconds * 1000, cond, 5) then error("timed out after " .. seconds .. " s waiting for " .. what, 0) end
end

-- A 60 Hz timer in the same editor: how late each tick comes, in ms past its due time.
local function frame_timer()
  local t = uv.new_timer()
  local late, last = {}, uv.hrtime()
  t:start(16, 16, function()
    local now = uv.hrtime()
    late[#late + 1] = math.max(0, (now - last) / 1e6 - 16)
    last = now
  end)
  return function()
    t:stop()
    t:close()
    return late
  end
end

local function lines(buf) return vim.api.nvim_buf_get_lines(buf, 0, -1, true) end

local function reply_done(claude, buf)
  return function() return claude.status(buf) ~= "running" end
end

local cases = {}

-- :Claude hello, a 60 Hz timer ticking meanwhile
function cases.stream(claude)
  local stop_timer = frame_timer()
  local t0 = uv.hrtime()
  vim.cmd("Claude hello")
  result.command_ms = ms_since(t0)
  local buf = vim.api.nvim_get_current_buf()
  result.status_after_command = claude.status(buf)
  result.lines_after_command = lines(buf)
  wait_for("the reply", 30, reply_done(claude, buf))
  result.stream_ms = ms_since(t0)
  result.late_ms = stop_timer()
  result.status = claude.status(buf)
  result.lines = lines(buf)
  result.buftype = vim.bo[buf].buftype
end

-- a reply of several lines (the emulator echoes the prompt)
function cases.lines(claude)
  local buf = claude.ask(os.getenv("CLAUDE_SPEC_PROMPT"))
  wait_for("the reply", 30, reply_done(claude, buf))
  result.status = claude.status(buf)
  result.lines = lines(buf)
end

-- a slow reply, canceled once its first text is in: by :ClaudeStop or by wiping its buffer
local function cancel_case(claude, how)
  vim.cmd("Claude " .. os.getenv("CLAUDE_SPEC_PROMPT"))
  local buf = vim.api.nvim_get_current_buf()
  wait_for("the first text", 30, function() return lines(buf)[1] ~= "" end)
  result.lines_before = lines(buf)
  if how == "stop" then vim.cmd("ClaudeStop") else vim.cmd("bwipeout! " .. buf) end
  wait_for("the cancel", 30, reply_done(claude, buf))
  result.status = claude.status(buf)
  result.valid = vim.api.nvim_buf_is_valid(buf)
  if result.valid then result.lines = lines(buf) end
end
function cases.stop(claude) cancel_case(claude, "stop") end

-- :ClaudeStop before the answer has started: the stream is closed as soon as it opens
function cases.stop_early(claude)
  vim.cmd("Claude hello")
  local buf = vim.api.nvim_get_current_buf()
  vim.cmd("ClaudeStop")
  wait_for("the cancel", 30, reply_done(claude, buf))
  result.status = claude.status(buf)
  result.lines = lines(buf)
end
function cases.wipe(claude) cancel_case(claude, "wipe") end

-- a refused key: the library's error, shown with vim.notify
function cases.error(claude)
  vim.cmd("Claude hello")
  local buf = vim.api.nvim_get_current_buf()
  wait_for("the answer", 30, reply_done(claude, buf))
  result.status = claude.status(buf)
  result.lines = lines(buf)
end

-- setup's checks
function cases.setup(claude)
  local errors = {}
  for _, opts in ipairs {
    { client = { api_key = "sk-ant-api03-not-a-real-key-AA" } },
    { max_tokens = 0 },
    { modle = "claude-opus-4-6" },
    { open = "float" },
  } do
    local ok, err = pcall(claude.setup, opts)
    errors[#errors + 1] = ok and "accepted" or tostring(err)
  end
  result.errors = errors
  claude.setup { client = { base_url = "ftp://example.com" } } -- refused by anthropic.new, at :Claude
  result.buf = claude.ask("hello")
end

local ok, err = pcall(function()
  vim.cmd("runtime! plugin/claude.lua")
  local claude = require "claude"
  claude.setup { model = "claude-opus-4-6", max_tokens = 4096 }
  assert(cases[case], "no case " .. tostring(case))(claude)
end)
if not ok then result.error = tostring(err) end
result.messages = vim.api.nvim_exec("messages", true)
local f = assert(io.open(out_path, "w"))
f:write(vim.fn.json_encode(result))
f:close()
vim.cmd(ok and "qall!" or "cquit 3")
