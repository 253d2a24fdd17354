--- lua-anthropic under `make bench`: the same requests as baseline.c, through the public API.
--   lua5.4 bench/ours.lua WORKLOAD BASE_URL REQUEST_JSON N [INFLIGHT] [flat]
-- create: client.messages:create(params), sequentially on one connection, or INFLIGHT at a
--   time in tasks (anthropic.spawn + anthropic.run), each task taking the next request.
-- small | mid | big: client.messages:stream(params), read through stream:text(); with "flat",
--   stream:keep_content(false) first (final() would then have no content).
-- Text read is counted in bytes, so the driver can check every client read all of it.
package.path = "./lua/?.lua;./lua/?/init.lua;./bench/?.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
local anthropic = require "anthropic"
local core = require "anthropic.core"
local cjson = require "cjson"
local common = require "common"

local a = common.args()
-- The params table, as a caller would build it (decoded from the shared request file).
local params = cjson.decode(a.request)

local clients = {}
local function client(workload)
  if not clients[workload] then
    clients[workload] = anthropic.new { api_key = common.KEY, base_url = common.base_url(a.base, workload),
      max_retries = 0 }
  end
  return clients[workload]
end

local function create(c)
  local msg = assert(c.messages:create(params))
  local n = 0
  for _, block in ipairs(msg.content) do n = n + #(block.text or "") end
  return n
end

local function stream(c, flat)
  local s = assert(c.messages:stream(params))
  if flat then s:keep_content(false) end
  local n = 0
  for text in s:text() do n = n + #text end
  return n
end

local function sequential(workload, n)
  local c = client(workload)
  local text = 0
  for _ = 1, n do
    text = text + (workload == "create" and create(c) or stream(c, a.variant == "flat"))
  end
  return text
end

local function in_flight(workload, n, k)
  local c = client(workload)
  local issued, text = 0, 0
  for _ = 1, k do
    anthropic.spawn(function()
      while issued < n do
        issued = issued + 1
        local t = create(c) -- (not text + create(c): the other tasks add while this one waits)
        text = text + t
      end
    end)
  end
  anthropic.run()
  return text
end

if a.inflight > 1 then
  in_flight(a.warm_workload, a.inflight * 2, a.inflight)
  common.measure(a.n, function() return in_flight(a.workload, a.n, a.inflight) end, core.now)
else
  sequential(a.warm_workload, a.warm)
  common.measure(a.n, function() return sequential(a.workload, a.n) end, core.now)
end
