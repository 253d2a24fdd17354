--- claude: ask Claude from Neovim; the reply streams into a scratch buffer as it arrives, and the
-- editor never waits for it. lua-anthropic's tasks (anthropic.spawn) run the requests; the
-- editor's own event loop drives them: a poll handle on anthropic.pollfd() and a timer on
-- anthropic.timeout() wake it, and it calls anthropic.poll(0), which never blocks.
--
--   require("claude").setup { model = "claude-opus-4-6", max_tokens = 1024,
--                             cpath = "/path/to/lua-anthropic/build-luajit" }
--   :Claude <prompt>     :ClaudeStop
--
-- The key is the library's business: ANTHROPIC_API_KEY, a profile, key_file or key_command
-- (setup's `client` options). The plugin never holds it. See docs/embedding.md.
local M = {}

local uv = vim.uv or vim.loop -- (Neovim 0.9 and older have vim.loop only)
local api = vim.api
local ERROR, INFO = vim.log.levels.ERROR, vim.log.levels.INFO

local OPEN = { split = "split", vsplit = "vsplit", tab = "tab split", current = false }
local DEFAULTS = { model = "claude-opus-4-6", max_tokens = 1024, system = nil, cpath = nil, path = nil,
                   client = nil, open = "split" }
local KNOWN = { "model", "max_tokens", "system", "cpath", "path", "client", "open" }

local config = {}
for k, v in pairs(DEFAULTS) do config[k] = v end

local anthropic     -- the library, loaded at the first :Claude
local client        -- the client of the current settings (made at the first :Claude after setup)
local jobs = {}     -- replies in progress: { buf, task, client, stream, canceled }
local by_buf = {}   -- buffer -> its reply in progress
local states = {}   -- buffer -> "running" | "done" | "failed" | "canceled" (M.status)
local poll_handle, poll_fd, timer, scheduled

local function notify(msg, level) vim.notify(msg, level or ERROR) end

-- The folder of the checkout this file is in (examples/nvim/lua/claude/init.lua), if it is one.
local function checkout()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/examples/nvim/lua/claude/init%.lua$")
  return dir
end

local function exists(path) return uv.fs_stat(path) ~= nil end

-- "dir" -> "dir/?.so" (or the ?.lua patterns); a pattern with "?" is taken as it is.
local function patterns(p, kind)
  if p:find("?", 1, true) then return p end
  p = p:gsub("/+$", "")
  if kind == "c" then return p .. "/?.so" end
  return p .. "/?.lua;" .. p .. "/?/init.lua"
end

local function prepend(field, pat)
  if not (";" .. package[field] .. ";"):find(";" .. pat .. ";", 1, true) then
    package[field] = pat .. ";" .. package[field]
  end
end

--- Settings (every one optional):
--   model       the model to ask ("claude-opus-4-6")
--   max_tokens  the longest reply, in tokens (1024)
--   system      a system prompt (none)
--   cpath       the folder holding anthropic/core.so built for LuaJIT (make build LUA=luajit:
--               build-luajit/), or a package.cpath pattern; default: already on package.cpath, or
--               the build-luajit/ of the checkout this plugin is in
--   path        the folder holding anthropic/init.lua (the checkout's lua/), or a package.path pattern
--   client      options for anthropic.new (profile, base_url, key_file, key_command, timeout, ...);
--               never api_key: the plugin holds no key
--   open        where the reply opens: "split" (the default), "vsplit", "tab" or "current"
function M.setup(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then error("claude.setup: expects a table of settings (got " .. type(opts) .. ")", 2) end
  for k in pairs(opts) do
    if not vim.tbl_contains(KNOWN, k) then
      error("claude.setup: unknown setting " .. tostring(k) .. " (known: " .. table.concat(KNOWN, ", ") .. ")", 2)
    end
  end
  local function check(name, ok, want)
    if opts[name] ~= nil and not ok(opts[name]) then
      error(string.format("claude.setup: %s must be %s (got %s)", name, want, vim.inspect(opts[name])), 3)
    end
  end
  check("model", function(v) return type(v) == "string" and v ~= "" end, "a model name")
  check("max_tokens", function(v) return type(v) == "number" and v >= 1 and v == math.floor(v) and v < 2^31 end,
    "a whole number of tokens, 1 or more")
  check("system", function(v) return type(v) == "string" end, "a string")
  check("cpath", function(v) return type(v) == "string" and v ~= "" end, "a folder or a package.cpath pattern")
  check("path", function(v) return type(v) == "string" and v ~= "" end, "a folder or a package.path pattern")
  check("client", function(v) return type(v) == "table" end, "a table of anthropic.new options")
  check("open", function(v) return OPEN[v] ~= nil end, '"split", "vsplit", "tab" or "current"')
  if opts.client and opts.client.api_key ~= nil then
    error("claude.setup: client.api_key: the plugin holds no key; set ANTHROPIC_API_KEY, or give " ..
      "client = { profile = ... }, { key_file = ... } or { key_command = {...} } (docs/keys.md)", 2)
  end
  for k, v in pairs(DEFAULTS) do config[k] = v end
  for k, v in pairs(opts) do config[k] = v end
  if anthropic and (opts.cpath or opts.path) then
    notify("claude.setup: lua-anthropic is already loaded; cpath and path take effect after a restart", INFO)
  end
  client = nil -- the next :Claude makes one with these options (replies in progress keep theirs)
end

-- -> the library | nil, message
local function load()
  if anthropic then return anthropic end
  local root = checkout()
  local path = config.path or (root and exists(root .. "/lua/anthropic/init.lua") and root .. "/lua")
  local cpath = config.cpath or (root and exists(root .. "/build-luajit/anthropic/core.so") and root .. "/build-luajit")
  if path then prepend("path", patterns(path, "lua")) end
  if cpath then prepend("cpath", patterns(cpath, "c")) end
  local ok, lib = pcall(require, "anthropic")
  if not ok then
    local why = tostring(lib):match("^[^\n]*")
    return nil, "claude: cannot load lua-anthropic (" .. why .. "): set cpath to the folder holding " ..
      "anthropic/core.so built for LuaJIT (make build LUA=luajit: build-luajit/) and path to its lua/ folder"
  end
  anthropic = lib
  return lib
end

-- Every line of text, split at "\n" (what nvim_buf_set_text takes).
local function split(text)
  local lines, from = {}, 1
  while true do
    local nl = text:find("\n", from, true)
    if not nl then
      lines[#lines + 1] = text:sub(from)
      return lines
    end
    lines[#lines + 1] = text:sub(from, nl - 1)
    from = nl + 1
  end
end

-- Adds text at the end of the reply's buffer; a window whose cursor was on the last line follows.
local function append(job, text)
  local buf = job.buf
  if job.canceled or not api.nvim_buf_is_valid(buf) then return end
  local last = api.nvim_buf_line_count(buf) - 1
  local line = api.nvim_buf_get_lines(buf, last, last + 1, true)[1]
  local lines = split(text)
  local following = {}
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    if api.nvim_win_get_cursor(win)[1] == last + 1 then following[#following + 1] = win end
  end
  api.nvim_buf_set_text(buf, last, #line, last, #line, lines)
  local n = last + #lines
  for _, win in ipairs(following) do
    api.nvim_win_set_cursor(win, { n, #api.nvim_buf_get_lines(buf, n - 1, n, true)[1] })
  end
end

-- The task of one reply: open the stream, append each piece of text as it comes.
local function run(job, params)
  local s, err = job.client.messages:stream(params)
  if not s then error(err, 0) end -- the library's error object (no key in it)
  job.stream = s
  if job.canceled then -- (:ClaudeStop or a wipe while the request was being answered)
    s:close()
    return
  end
  for piece in s:text() do -- raises the error object if the stream fails or is closed
    append(job, piece)
  end
  s:close()
end

local wake

-- Once a reply's task is over: its state, and the library's error message when it failed.
local function finish(job)
  local _, err = job.task:wait() -- (done: returns at once)
  local state = job.canceled and "canceled" or err ~= nil and "failed" or "done"
  states[job.buf] = state
  if by_buf[job.buf] == job then by_buf[job.buf] = nil end
  if api.nvim_buf_is_valid(job.buf) then vim.b[job.buf].claude_status = state end
  if state == "failed" then notify(tostring(err)) end
  if job.client ~= client then -- settings changed meanwhile: the old client goes with its last reply
    local used = false
    for _, j in ipairs(jobs) do used = used or j.client == job.client end
    if not used then job.client:close() end
  end
  api.nvim_exec_autocmds("User", { pattern = "ClaudeDone", modeline = false })
end

-- Waits for the library's next event: its descriptor becoming readable, or its next deadline.
local function arm()
  if #jobs == 0 then -- nothing in flight: the editor waits for nothing of ours
    if poll_handle then poll_handle:stop() end
    if timer then timer:stop() end
    return
  end
  local fd = anthropic.pollfd() -- (nil where the engine has no epoll: then the timer runs at 60 Hz)
  if fd ~= poll_fd then
    if poll_handle then poll_handle:close() end
    poll_handle, poll_fd = fd and uv.new_poll(fd), fd
  end
  if poll_handle then
    poll_handle:start("r", function()
      poll_handle:stop() -- (level-triggered: it would fire again until poll(0) has read)
      wake()
    end)
  end
  timer = timer or uv.new_timer()
  timer:stop()
  local t = anthropic.timeout()
  if not poll_handle then t = math.min(t or 1 / 60, 1 / 60) end
  if t then timer:start(math.ceil(t * 1000), 0, wake) end
end

-- Advances every reply (anthropic.poll(0) never blocks), then waits again. Runs in the editor's
-- main loop (vim.schedule), where buffers may be changed: handle callbacks may not.
local function step()
  scheduled = false
  local ok, err = pcall(anthropic.poll, 0)
  if not ok then notify("claude: " .. tostring(err)) end
  for i = #jobs, 1, -1 do
    local job = jobs[i]
    if job.task.done then
      table.remove(jobs, i)
      finish(job)
    end
  end
  arm()
end

function wake()
  if scheduled then return end
  scheduled = true
  vim.schedule(step)
end

local function cancel(job)
  if job.canceled or job.task.done then return false end
  job.canceled = true
  if job.stream then job.stream:close() end -- cancels the transfer; the task ends at the next poll
  wake()
  return true
end

local function open(buf)
  local how = OPEN[config.open]
  if how then vim.cmd(how) end
  api.nvim_win_set_buf(0, buf)
end

--- Asks Claude `prompt`; the reply streams into a new scratch buffer, opened as `open` says.
-- Wiping the buffer (closing its window: bufhidden=wipe) cancels the reply. -> buffer | nil
function M.ask(prompt)
  if type(prompt) ~= "string" or not prompt:find("%S") then
    notify("claude: give a prompt: :Claude <prompt>")
    return nil
  end
  local lib, err = load()
  if not lib then
    notify(err)
    return nil
  end
  if not client then
    local ok, c = pcall(lib.new, config.client)
    if not ok then -- a config error object: says which option is wrong
      notify(tostring(c))
      return nil
    end
    client = c
  end
  local buf = api.nvim_create_buf(false, true) -- scratch: nofile, noswapfile
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "markdown"
  pcall(api.nvim_buf_set_name, buf, "claude://" .. buf)
  open(buf)
  local params = { model = config.model, max_tokens = config.max_tokens, system = config.system,
                   messages = { { role = "user", content = prompt } } }
  local job = { buf = buf, client = client, canceled = false }
  job.task = lib.spawn(run, job, params) -- runs at the next poll(0)
  jobs[#jobs + 1] = job
  by_buf[buf] = job
  states[buf] = "running"
  vim.b[buf].claude_status = "running"
  api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function() cancel(job) end })
  wake()
  return buf
end

--- Cancels the reply of buffer `buf`; without `buf`: the current buffer's, or, when the current
-- buffer has none, every reply in progress. -> how many were canceled
function M.stop(buf)
  local list = {}
  local job = by_buf[buf or api.nvim_get_current_buf()]
  if job then
    list[1] = job
  elseif not buf then
    list = jobs
  end
  local n = 0
  for _, j in ipairs(list) do
    if cancel(j) then n = n + 1 end
  end
  local what = n == 0 and "no reply in progress" or ("canceled " .. n .. (n == 1 and " reply" or " replies"))
  notify("claude: " .. what, INFO)
  return n
end

--- The state of buffer `buf`'s reply: "running", "done", "failed", "canceled", or nil (no reply).
function M.status(buf)
  return states[buf or api.nvim_get_current_buf()]
end

-- Leaving the editor: cancel what runs, and close the client (its key is wiped).
api.nvim_create_autocmd("VimLeavePre", {
  group = api.nvim_create_augroup("claude", { clear = true }),
  callback = function()
    for _, j in ipairs(jobs) do cancel(j) end
    if anthropic then pcall(anthropic.poll, 0) end
    if client then client:close() end
    -- (the descriptor is the engine's, closed with the Lua state: stop watching it first)
    if poll_handle then poll_handle:close() end
    if timer then timer:close() end
    poll_handle, poll_fd, timer = nil, nil, nil
  end,
})

return M
