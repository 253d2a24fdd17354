-- Test helper: nginx as a TLS terminator offering HTTP/2 (ALPN h2, as the real API does) in
-- front of a plain-http emulator, started and stopped by PID. The lua-sec emulator speaks
-- HTTP/1.1 only; this is how a spec sees what libcurl does over HTTP/2.
--
--   local terminator = require "helpers.terminator"
--   if terminator.available() then
--     local t = assert(terminator.start { upstream = emu.url })  -- t.url = "https://127.0.0.1:PORT"
--     ... anthropic.new { base_url = t.url, ca_file = t.ca_file } ...
--     t:protocols()   --> { "HTTP/1.1", ... } one per request nginx served
--     t:stop()
--   end
local socket = require "socket"
local tls = require "anthropic.emulator.tls"
local util = require "helpers.util"

local M = {}

local function nginx()
  for _, p in ipairs { "/usr/sbin/nginx", "/usr/bin/nginx" } do
    if tls.exists(p) then return p end
  end
end

function M.available()
  return nginx() ~= nil and tls.available() ~= nil
end

-- A port the system says is free now (nginx takes a port number, not a socket).
local function free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

local T = {}
T.__index = T

-- start{ upstream = "http://127.0.0.1:PORT" } -> terminator | nil, message. nginx daemonizes
-- only after it has bound its port, so the port takes connections once start returns.
function M.start(opts)
  local dir = assert(tls.tmpdir())
  local ok, err = tls.make(dir)
  if not ok then
    tls.rmdir(dir)
    return nil, err
  end
  local port = free_port()
  local conf = string.format([[
pid %s/nginx.pid;
error_log %s/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
  log_format proto "$server_protocol";
  access_log %s/access.log proto;
  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;
  server {
    listen 127.0.0.1:%d ssl http2;
    ssl_certificate %s/cert.pem;
    ssl_certificate_key %s/key.pem;
    location / { proxy_pass %s; proxy_http_version 1.1; proxy_buffering off; }
  }
}
]], dir, dir, dir, dir, dir, dir, dir, dir, port, dir, dir, opts.upstream)
  util.write(dir .. "/nginx.conf", conf, "600")
  if not os.execute(util.sh_quote(nginx()) .. " -q -p " .. util.sh_quote(dir) .. " -c "
      .. util.sh_quote(dir .. "/nginx.conf") .. " 2>" .. util.sh_quote(dir .. "/start.err")) then
    local why = util.read(dir .. "/start.err")
    tls.rmdir(dir)
    return nil, "nginx did not start: " .. tostring(why)
  end
  local pid = tonumber((util.read(dir .. "/nginx.pid") or ""):match("%d+"))
  if not pid then
    tls.rmdir(dir)
    return nil, "nginx wrote no pid file"
  end
  return setmetatable({ dir = dir, pid = pid, url = "https://127.0.0.1:" .. port, ca_file = dir .. "/ca.pem" }, T)
end

-- The protocol of each request served so far ("HTTP/2.0", "HTTP/1.1").
function T:protocols()
  local out = {}
  for line in (util.read(self.dir .. "/access.log") or ""):gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

-- SIGTERM to the master, then waits for it to exit. Safe to call twice.
function T:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null; tail --pid=" .. self.pid .. " -f /dev/null")
  tls.rmdir(self.dir)
end

return M
