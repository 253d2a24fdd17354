-- Test helper: a loopback listener that records every byte sent to it (recorder_server.lua), to
-- stand in for a proxy and see what would reach one.
--
--   local recorder = require "helpers.recorder"
--   local rec = recorder.start(dir)   -- rec.port, rec.url = "http://127.0.0.1:PORT"
--   ... point http_proxy at rec.url, make a request in a child process ...
--   rec:bytes(), rec:connections(); rec:clear() between cases; rec:stop()
--
-- Like the emulator (helpers/emulator.lua) it runs under a shell whose stdin is a pipe from this
-- process, and exits when that pipe closes.
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local M = {}
local Recorder = {}
Recorder.__index = Recorder

function M.start(dir)
  local path = dir .. "/recorded"
  util.write(path, "", "600")
  util.write(path .. ".conns", "", "600")
  local fifo = dir .. "/recorder.fifo"
  assert(os.execute("mkfifo -m 600 " .. util.sh_quote(fifo)), "mkfifo failed")
  local sh = assert(io.popen("exec /bin/sh", "w"))
  sh:write("exec >", util.sh_quote(fifo), "\necho $$\ncd ", util.sh_quote(emulator.ROOT), "\nexec ",
    emulator.LUA, " spec/helpers/recorder_server.lua ", util.sh_quote(path), "\n")
  sh:flush()
  local out = assert(io.open(fifo, "r"))
  os.remove(fifo)
  local pid = tonumber(out:read("*l") or "")
  local port = tonumber((out:read("*l") or ""):match("^listening (%d+)$") or "")
  if not pid or not port then
    sh:close()
    out:close()
    error("the recorder did not start", 2)
  end
  local self = setmetatable({ pid = pid, port = port, url = "http://127.0.0.1:" .. port, path = path,
    sh = sh, out = out }, Recorder)
  self.guard = setmetatable({}, { __gc = function() self:stop() end })
  return self
end

--- Every byte received so far, all connections in the order they arrived.
function Recorder:bytes() return util.read(self.path) or "" end

--- How many connections were accepted so far.
function Recorder:connections()
  local n = 0
  for _ in (util.read(self.path .. ".conns") or ""):gmatch("[^\n]+") do n = n + 1 end
  return n
end

function Recorder:clear()
  util.write(self.path, "", "600")
  util.write(self.path .. ".conns", "", "600")
end

function Recorder:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  self.sh:close()
  self.out:close()
end

return M
