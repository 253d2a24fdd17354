-- One rule for the arguments of every public method: bad arguments raise a clear message (never
-- a raw Lua error, never a request sent with what was left), checked for every method built from
-- the endpoint data at once. And a log hook that raises never breaks a call.
local anthropic = require "anthropic"
local endpoints = require "anthropic.endpoints"
local endpoints_admin = require "anthropic.endpoints_admin"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

-- A closed port: a call that is not refused fails fast with kind "connection" and sends nothing.
local NOWHERE = "http://127.0.0.1:9"

local function raises(fn, want, where)
  local ok, msg = pcall(fn)
  assert.is_false(ok, where .. ": did not raise")
  assert.is_string(msg, where)
  assert.truthy(msg:find(want, 1, true), where .. ": " .. msg)
  assert.is_nil(msg:find("attempt to", 1, true), where .. ": a raw Lua error: " .. msg)
  return msg
end

local function path_names(path)
  local names = {}
  for name in path:gmatch("{([%w_]+)}") do names[#names + 1] = name end
  return names
end

-- Every method of both clients: { label, resource object, method name, desc, path argument names }
local function methods(client, admin)
  local out = {}
  for _, set in ipairs { { client, endpoints }, { admin, endpoints_admin } } do
    local c, eps = set[1], set[2]
    for rname, descs in pairs(eps) do
      local r = c[rname]
      local names0 = {}
      if descs.scope then
        r = r("scope-id")
        names0 = { descs.scope }
      end
      for mname, desc in pairs(descs) do
        if mname ~= "scope" then
          local names = path_names(desc.path)
          if descs.scope then table.remove(names, 1) end -- bound by the scope call
          out[#out + 1] = { rname .. ":" .. mname, r, mname, desc, names, names0 }
        end
      end
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

describe("method arguments", function()
  local client, admin
  before_each(function()
    client = anthropic.new { api_key = emulator.make_key("api03"), base_url = NOWHERE, max_retries = 0 }
    admin = anthropic.admin { api_key = emulator.make_key("admin01"), base_url = NOWHERE, max_retries = 0 }
  end)
  after_each(function()
    client:close()
    admin:close()
  end)

  it("every endpoint method: a POST needs a params table, a bodiless POST takes none, others take one optionally",
    function()
      local all = methods(client, admin)
      assert.is_true(#all >= 30, #all .. " methods")
      for _, m in ipairs(all) do
        local label, r, name, desc, names = m[1], m[2], m[3], m[4], m[5]
        local args = {}
        for i = 1, #names do args[i] = "id-" .. i end
        local n = #names
        local call = function(...) -- (every path argument, then the rest: unpack not last keeps one value)
          local all_args = { table.unpack(args, 1, n) }
          local extra = table.pack(...)
          for i = 1, extra.n do all_args[n + i] = extra[i] end
          return r[name](r, table.unpack(all_args, 1, n + extra.n))
        end
        if n == 0 then call = function(...) return r[name](r, ...) end end
        -- with "." instead of ":"
        raises(function() return r[name](table.unpack(args, 1, n)) end, label .. " must be called with a colon", label)
        -- a path argument missing
        if n > 0 then
          raises(function() return r[name](r) end,
            label .. ": argument #1 (" .. names[1] .. ") must be a non-empty", label)
        end
        local params_at = n + 1
        if desc.method == "POST" and desc.body == false then
          raises(function() return call({}) end, string.format("%s: takes %d argument", label, n), label)
          assert.has_no.errors(function() return call() end, label)
        elseif desc.method == "POST" then
          raises(function() return call() end,
            string.format("%s: argument #%d (params) must be a table (got nil)", label, params_at), label)
          raises(function() return call(42) end,
            string.format("%s: argument #%d (params) must be a table (got number)", label, params_at), label)
          raises(function() return call({}, "extra") end, string.format("%s: takes %d argument", label, n + 1), label)
        else
          raises(function() return call("x") end,
            string.format("%s: argument #%d (params) must be a table (got string)", label, params_at), label)
          raises(function() return call(nil, "extra") end, string.format("%s: takes %d argument", label, n + 1), label)
          if not desc.params or not next(desc.params) or desc.pager then
            assert.has_no.errors(function() return call() end, label) -- a pager, or nil, err (nothing listens)
          end
        end
      end
    end)

  it("the messages:create example: create(nil) raises instead of sending an empty body", function()
    assert.equal("messages:create: argument #1 (params) must be a table (got nil)",
      (raises(function() return client.messages:create(nil) end, "messages:create", "create(nil)")
        :gsub("^[^:]*%.lua:%d+: ", "")))
    raises(function() return client.messages:create(42) end, "(got number)", "create(42)")
    raises(function() return client.messages:stream() end, "messages:stream: argument #1 (params)", "stream()")
  end)

  it("a scoped resource called without its argument says how to call it", function()
    raises(function() return admin.members:list() end,
      "members is called with the workspace_id first: members(workspace_id):list(...)", "members:list")
    raises(function() return admin.members(nil) end, "members(workspace_id): workspace_id must be", "members(nil)")
  end)

  it("client, pager and task methods called with '.' and bad tasks arguments raise clear messages", function()
    raises(function() return client.close() end, "client:close must be called with a colon", "close")
    raises(function() return client.key_hint() end, "client:key_hint must be called with a colon", "key_hint")
    raises(function() return client.spend() end, "client:spend must be called with a colon", "spend")
    local p = client.models:list()
    raises(function() return p.all() end, "pager:all must be called with a colon", "pager.all")
    raises(function() return p.each() end, "pager:each must be called with a colon", "pager.each")
    raises(function() return p:page("x") end, "pager:page: argument #1 (query) must be a table (got string)", "page")
    raises(function() return anthropic.poll("x") end, "anthropic.poll: argument #1 (timeout) must be a number", "poll")
    raises(function() return anthropic.spawn(42) end, "anthropic.spawn expects a function (got number)", "spawn")
    local t = anthropic.spawn(function() return 1 end)
    raises(function() return t.wait() end, "task:wait must be called with a colon", "task.wait")
    assert.equal(1, t:wait())
    raises(function() return client.batches:results(nil) end, "batches:results: argument #1", "results")
  end)
end)

describe("a log function that raises", function()
  local emu, key
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)

  it("never breaks a call: reported once on stderr (scrubbed), then no longer called", function()
    local code = string.format([[
      local anthropic = require "anthropic"
      local calls = 0
      local client = anthropic.new { base_url = %q, log = function(level, msg)
        calls = calls + 1
        error("log sink down, key " .. os.getenv("ANTHROPIC_API_KEY"))
      end }
      local params = { model = "claude-opus-4-6", max_tokens = 8, messages = { { role = "user", content = "hi" } } }
      for _ = 1, 2 do
        local msg, err = client.messages:create(params)
        print(msg and msg.type or ("error " .. tostring(err)))
      end
      local s = assert(client.messages:stream(params))
      print(s:final().type)
      local n, cerr = client.messages:count_tokens { model = params.model, messages = params.messages }
      print(n and "counted" or tostring(cerr))
      print("calls " .. calls)
    ]], emu.url)
    local out, err, status = util.run_lua(code, { ANTHROPIC_API_KEY = key, ANTHROPIC_AUTH_TOKEN = false })
    assert.equal(0, status, err)
    assert.equal("message\nmessage\nmessage\ncounted\ncalls 1\n", out)
    local lines = {}
    for line in err:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal(1, #lines, err)
    assert.matches("^anthropic: the log function raised an error; this client no longer calls it: "
      .. "%S*child%.lua:%d+: log sink down, key %[redacted%]$", lines[1])
    util.assert_no_leak(out .. err, key, "the child's output")
  end)
end)
