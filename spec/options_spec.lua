-- Option and argument values: every number finite and in its range, header text that cannot
-- inject headers, and the table of ranges in docs/getting-started.md kept equal to the data.
local anthropic = require "anthropic"
local options = require "anthropic.options"
local transport = require "anthropic.transport"
local tasks = require "anthropic.tasks"
local batches = require "anthropic.batches"
local pager = require "anthropic.pager"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local NAN, INF = 0 / 0, math.huge

-- The message of the config error anthropic.new raises for opts (fails when it does not raise,
-- or raises anything but the library's error object of kind "config").
local function refused(opts, ctor)
  local ok, err = pcall(ctor or anthropic.new, opts)
  assert.is_false(ok, "accepted " .. tostring(next(opts)))
  assert.is_true(anthropic.is_error(err), "raised a " .. type(err) .. ": " .. tostring(err))
  assert.equal("config", err.kind)
  assert.is_string(err.message)
  return err.message
end

-- Every number spec of the library, with the name the docs table gives it.
local function number_specs()
  local out = {}
  local names = {}
  for name in pairs(transport.OPTIONS) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local spec = transport.OPTIONS[name]
    if spec.type == "number" then out[#out + 1] = { "`" .. name .. "`", spec } end
    for i, item in ipairs(spec.items or {}) do
      out[#out + 1] = { string.format("`%s[%d]` (%s)", name, i, item.name), item }
    end
    for field, fs in pairs(spec.fields or {}) do
      if fs.type == "number" then out[#out + 1] = { "`" .. name .. "." .. field .. "`", fs } end
    end
  end
  out[#out + 1] = { "`anthropic.poll(timeout)`", tasks.ARGS.poll }
  out[#out + 1] = { "`tasks.sleep(seconds)`", tasks.ARGS.sleep }
  for _, field in ipairs { "interval", "timeout" } do
    out[#out + 1] = { "`batches:wait(id, opts)`: `opts." .. field .. "`", batches.WAIT_OPTS.fields[field] }
  end
  out[#out + 1] = { "`pager:all(max)`", pager.ARGS.all }
  return out
end

describe("bad options", function()
  it("raise the library's error object of kind config, whose message says what and how to fix it", function()
    local cases = {
      { { timeout = NAN }, "^option 'timeout' for anthropic%.%a+ must be a number of seconds from 0%.001 to 86400 " },
      { { max_body = -1 }, "^option 'max_body' for anthropic%.%a+ must be a whole number of bytes from 1 to " },
      { { timeout = "10" }, "^option 'timeout' for anthropic%.%a+ must be a number %(got string%)" },
      { { api_kye = "x" }, "^unknown option 'api_kye' for anthropic%.%a+ %(known options: api_key, " },
      { { [1] = "x" }, "^unknown option '1' for anthropic%.%a+" },
      { { base_url = "ftp://x" }, "^base_url 'ftp://x' must start with https://" },
      { { beta = { {} } }, "^option 'beta%[1%]' for anthropic%.%a+ must be a string %(got table%)" },
      { { headers = { ["x-api-key"] = "k" } }, "^option 'headers' for anthropic%.%a+ must not carry the key" },
      { { spend_limit = {} }, "^option 'spend_limit%.usd' for anthropic%.%a+" },
      { 42, "^anthropic%.%a+ expects an options table %(got number%)" },
    }
    for _, ctor in ipairs { anthropic.new, anthropic.admin } do
      for i, case in ipairs(cases) do
        local ok, err = pcall(ctor, case[1])
        assert.is_false(ok, "case " .. i)
        assert.is_true(anthropic.is_error(err), "case " .. i .. " raised a " .. type(err) .. ": " .. tostring(err))
        assert.equal("config", err.kind, "case " .. i)
        assert.matches(case[2], err.message)
        assert.matches("^anthropic: config error: ", tostring(err))
      end
    end
  end)
end)

describe("numeric options", function()
  it("refuses the values that turned a limit off or broke every request", function()
    local cases = {
      { "timeout", NAN }, { "timeout", INF }, { "timeout", 1e-9 }, { "timeout", 0 }, { "timeout", -1 },
      { "connect_timeout", NAN }, { "connect_timeout", 1e-9 }, { "retry_after_cap", NAN },
      { "retry_after_cap", INF }, { "key_command_timeout", NAN }, { "key_command_timeout", INF },
      { "max_body", -1 }, { "max_body", NAN }, { "max_body", 0 }, { "max_body", 1.5 }, { "max_body", INF },
      { "max_retries", INF }, { "max_retries", NAN }, { "max_retries", 101 }, { "max_retries", 0.5 },
    }
    for _, case in ipairs(cases) do
      local name, value = case[1], case[2]
      for _, ctor in ipairs { anthropic.new, anthropic.admin } do
        local msg = refused({ [name] = value }, ctor)
        assert.matches("^option '" .. name .. "' for anthropic%.%a+ must be a ", msg)
        assert.matches(" from [%d.]+ to %d+ %(got ", msg)
        assert.matches("leave it out for the default", msg)
      end
    end
    assert.equal("option 'timeout' for anthropic.new must be a number of seconds from 0.001 to 86400 (got NaN); "
      .. "leave it out for the default, 600", refused { timeout = NAN })
    assert.equal("option 'max_retries' for anthropic.new must be a whole number from 0 to 100 (got math.huge); "
      .. "leave it out for the default, 2", refused { max_retries = INF })
    assert.equal("option 'min_speed[2]' for anthropic.new must be a whole number from 1 to 86400 (got NaN); "
      .. "min_speed is { bytes_per_second, seconds }", refused { min_speed = { 100, NAN } })
    assert.equal("option 'spend_limit.usd' for anthropic.new must be a number from 0.000001 to 1000000000 "
      .. "(got math.huge)", refused { spend_limit = { usd = INF } })
    assert.matches("^option 'spend_limit.usd' .* %(got 1e%-07%)$", refused { spend_limit = { usd = 1e-7 } })
  end)

  it("every number spec refuses NaN, infinities, and values just out of range, and takes its ends", function()
    local specs = number_specs()
    assert.is_true(#specs >= 14)
    for _, entry in ipairs(specs) do
      local name, spec = entry[1], entry[2]
      assert.is_number(spec.min, name)
      assert.is_number(spec.max, name)
      local bad = { NAN, INF, -INF, spec.min - (spec.int and 1 or spec.min / 2 + 0.0001), spec.max + 1 }
      if spec.int then bad[#bad + 1] = spec.min + 0.5 end
      for _, v in ipairs(bad) do
        local msg = options.check(spec, v, "x")
        assert.is_string(msg, name .. " accepted " .. tostring(v))
        assert.equal("x must be " .. options.describe(spec), msg:match("^(x must be [^(]-) %(got"))
      end
      for _, v in ipairs { spec.min, spec.max, type(spec.default) == "number" and spec.default or spec.min } do
        assert.is_nil(options.check(spec, v, "x"), name .. " refused " .. tostring(v))
      end
    end
  end)

  it("the table in docs/getting-started.md gives every range and default as the code has it", function()
    local doc = assert(util.read("docs/getting-started.md"))
    local block = assert(doc:match("<!%-%- numbers:begin %-%->\n(.-)<!%-%- numbers:end %-%->"))
    local rows = {}
    for line in block:gmatch("[^\n]+") do
      if line:match("^| `") then rows[#rows + 1] = line end
    end
    local want = {}
    for _, entry in ipairs(number_specs()) do
      local d = entry[2].default
      want[#want + 1] = string.format("| %s | %s | %s |", entry[1], options.describe(entry[2]),
        d == nil and "none" or type(d) == "number" and options.num(d) or d)
    end
    table.sort(rows)
    table.sort(want)
    assert.same(want, rows)
  end)

  it("tasks.sleep, anthropic.poll, batches:wait and pager:all check their numbers", function()
    local cases = {
      { function() tasks.sleep(NAN) end, "tasks.sleep: argument #1 (seconds) must be a number of seconds "
        .. "from 0 to 86400 (got NaN)" },
      { function() tasks.sleep(INF) end, "(got math.huge)" },
      { function() tasks.sleep(-1) end, "(got -1)" },
      { function() tasks.sleep("1") end, "tasks.sleep: argument #1 (seconds) must be a number (got string)" },
      { function() anthropic.poll(NAN) end, "anthropic.poll: argument #1 (timeout) must be a number of seconds "
        .. "from 0 to 86400 (got NaN); leave it out for the default, 0" },
      { function() anthropic.poll("x") end, "anthropic.poll: argument #1 (timeout) must be a number (got string)" },
    }
    local client = anthropic.new { api_key = emulator.make_key(), base_url = "http://127.0.0.1:9", max_retries = 0 }
    local p = client.models:list()
    cases[#cases + 1] = { function() client.batches:wait("b", { interval = NAN }) end,
      "batches:wait: opts.interval must be a number of seconds from 0 to 86400 (got NaN); leave it out for "
        .. "the default, 5" }
    cases[#cases + 1] = { function() client.batches:wait("b", { timeout = INF }) end,
      "batches:wait: opts.timeout must be a number of seconds from 0 to 604800 (got math.huge)" }
    cases[#cases + 1] = { function() client.batches:wait("b", { intervall = 1 }) end,
      "batches:wait: opts has an unknown field 'intervall' (known: interval, timeout)" }
    cases[#cases + 1] = { function() p:all(NAN) end,
      "pager:all: argument #1 (max) must be a whole number from 0 to 1000000000 (got NaN)" }
    cases[#cases + 1] = { function() p:all("10") end, "pager:all: argument #1 (max) must be a number (got string)" }
    for i, case in ipairs(cases) do
      local ok, msg = pcall(case[1])
      assert.is_false(ok, "case " .. i)
      assert.is_string(msg, "case " .. i)
      assert.truthy(msg:find(case[2], 1, true), "case " .. i .. ": " .. msg)
      assert.matches("^spec/options_spec%.lua:%d+: ", msg) -- raised at the caller
    end
    client:close()
  end)
end)

describe("header text", function()
  local emu, key
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function() emu:reset() end)

  local PARAMS = { model = "claude-opus-4-6", max_tokens = 8, messages = { { role = "user", content = "hi" } } }

  it("refuses CR, LF, NUL and other control bytes, so no header can be injected", function()
    local other = emulator.make_key("api03")
    local inject = "\r\nx-api-key: " .. other
    local cases = {
      { { user_agent = "app/1" .. inject },
        "option 'user_agent' for anthropic.new contains a control byte (CR) at byte 6" },
      { { user_agent = "app/1\nx: y" },
        "option 'user_agent' for anthropic.new contains a control byte (LF) at byte 6" },
      { { user_agent = "app\0/1" }, "option 'user_agent' for anthropic.new contains a control byte (NUL) at byte 4" },
      { { user_agent = "app\27[31m" }, "contains a control byte (0x1B) at byte 4" },
      { { user_agent = "" }, "option 'user_agent' for anthropic.new must not be empty" },
      { { beta = { "a-2025", "b" .. inject } }, "option 'beta[2]' for anthropic.new must be an HTTP token: "
        .. "letters, digits and !#$%&'*+-.^_`|~ (got a control byte (CR) at byte 2)" },
      { { beta = { "a\0b" } }, "(got a control byte (NUL) at byte 2)" },
      { { beta = { "a,b" } }, "(got ',' at byte 2)" },
      { { beta = { {} } }, "option 'beta[1]' for anthropic.new must be a string (got table)" },
      { { beta = { x = "y" } }, "option 'beta' for anthropic.new must be a list (got a field 'x')" },
      { { headers = { ["x-team"] = "platform" .. inject } },
        'option \'headers\' for anthropic.new: the value of "x-team" contains a control byte (CR) at byte 9; '
          .. "header text must be one line of printable characters" },
      { { headers = { ["x-team"] = "a\0b" } }, "contains a control byte (NUL) at byte 2" },
      { { headers = { ["x-team\r\nx-api-key"] = "v" } }, 'the name "x-team\\r\\nx-api-key" must be an HTTP token' },
      { { headers = { ["x team"] = "v" } }, "(got a space at byte 2)" },
      { { headers = { ["x:team"] = "v" } }, "(got ':' at byte 2)" },
      { { headers = { [""] = "v" } }, "must be an HTTP token (got an empty string)" },
      { { headers = { ["x-n"] = 5 } }, 'the value of "x-n" must be a string (got number)' },
      { { headers = { ["X-Api-Key"] = "k" } }, "option 'headers' for anthropic.new must not carry the key" },
      { { base_url = emu.url .. "\0.example.com" },
        "option 'base_url' for anthropic.new contains a control byte (NUL)" },
      { { base_url = emu.url .. " x" }, "contains a space" },
    }
    for i, case in ipairs(cases) do
      local opts = case[1]
      opts.api_key = key
      opts.base_url = opts.base_url or emu.url
      local ok, err = pcall(anthropic.new, opts)
      if ok then -- what the server received shows the harm
        err:close()
        error(string.format("case %d accepted", i))
      end
      assert.equal("config", err.kind, "case " .. i)
      local msg = err.message
      assert.truthy(msg:find(case[2], 1, true), "case " .. i .. ": " .. msg)
      util.assert_no_leak(tostring(err), other, "the error")
      util.assert_no_leak(msg, other, "the message")
      util.assert_no_leak(msg, key, "the message")
    end
    assert.equal(0, #emu:log().requests)
  end)

  it("sends tokens, tabs and the other printable bytes as given", function()
    local c = anthropic.new { api_key = key, base_url = emu.url, user_agent = "app/1 (tab\there; é)",
      beta = { "a-2025", "x.y_z~1" }, headers = { ["X-Team!#$%&'*+.^_`|~"] = "v\t1 é" } }
    assert(c.messages:create(PARAMS))
    c:close()
    local r = emu:log().requests[1]
    assert.equal("app/1 (tab\there; é)", r.headers["user-agent"])
    assert.equal("a-2025,x.y_z~1", r.headers["anthropic-beta"])
    assert.equal("v\t1 é", r.headers["x-team!#$%&'*+.^_`|~"])
  end)
end)
