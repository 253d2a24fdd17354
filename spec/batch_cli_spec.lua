-- `anthropic batch ...` as a child process against the emulator: bad input reported with line
-- numbers before anything is sent, splitting into batches, a state file that makes a rerun submit
-- nothing twice (also after a real SIGINT, mid-submit and mid-wait), --wait with one progress
-- line per change while the emulator's clock moves (errored, expired and canceled results), results
-- as JSONL in input order with partial failures, status, list and cancel. The key travels in the
-- environment only.
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

describe("anthropic batch", function()
  local emu, key, dir
  lazy_setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
    dir = util.tmpdir()
  end)
  lazy_teardown(function()
    emu:stop()
    util.rmdir(dir)
  end)
  before_each(function()
    emu:reset()
    -- the batches end as soon as they are asked about: no test waits on the clock
    emu:request("POST", "/_emulator/batches", { processing_seconds = 0 })
  end)

  local function cli(args, env)
    local argv = { emulator.LUA, "bin/anthropic", "batch" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local e = { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_AUTH_TOKEN = false,
      ANTHROPIC_API_VERSION = false, COLUMNS = false }
    for k, v in pairs(env or {}) do e[k] = v end
    local out, err, code = util.run(argv, e, dir)
    util.assert_no_leak(out .. err, key, "anthropic batch " .. table.concat(args, " "))
    return out, err, code
  end

  local function batches_made()
    return assert(emu:request("GET", "/_emulator/batches")).json.count
  end

  local function request(id, extra)
    return string.format('{"custom_id": "%s", "params": {"model": "%s", "max_tokens": 16, '
      .. '"messages": [{"role": "user", "content": "q %s"}]%s}}', id, extra and extra.model or "claude-opus-4-6", id,
      extra and extra.more or "")
  end

  local function input(name, lines)
    return util.write(dir .. "/" .. name, table.concat(lines, "\n") .. "\n")
  end

  it("reports every bad line with its number and submits nothing", function()
    local path = input("bad.jsonl", {
      request("a"),
      "{not json",
      request("a"),
      request("b c"),
      '{"custom_id": "d", "params": 3}',
      request("e", { more = ', "temperature": 0.5' }),
      request("f", { more = ', "stream": true' }),
    })
    local out, err, code = cli { "submit", path }
    local _
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("bad.jsonl:2: not a JSON object", err, 1, true)
    assert.matches('bad.jsonl:3: custom_id "a" is used already, on line 1', err, 1, true)
    assert.matches('bad.jsonl:4: custom_id must be 1 to 64 letters, digits, _ or - (got "b c")', err, 1, true)
    assert.matches("bad.jsonl:5: params must be a Messages request object", err, 1, true)
    assert.matches("bad.jsonl:6: params: temperature is not accepted under API version 2026-10-21", err, 1, true)
    assert.matches("bad.jsonl:7: params.stream is not allowed in a batch", err, 1, true)
    assert.matches("nothing was submitted\n$", err)
    assert.equal(0, batches_made())
    -- what 2026-10-21 refuses is fine under 2023-06-01
    local ok = input("ok.jsonl", { request("e", { more = ', "temperature": 0.5' }) })
    _, err, code = cli({ "submit", ok }, { ANTHROPIC_API_VERSION = "2023-06-01" })
    assert.equal(0, code, err)
    assert.equal(1, batches_made())
  end)

  it("splits the input, waits with one line per change, writes results in input order", function()
    local lines = {}
    for i = 1, 7 do lines[i] = request("r" .. i, i == 5 and { model = "claude-nope" } or nil) end
    local path = input("seven.jsonl", lines)
    local out, err, code = cli { "submit", path, "--max-requests", "3", "--wait", "--interval", "0",
      "--out", dir .. "/results.jsonl" }
    assert.equal(0, code, err)
    assert.equal("", out)
    assert.equal(3, batches_made())
    assert.matches("batch 1/3 %(lines 1%-3, 3 requests%): msgbatch_", err)
    assert.matches("batch 3/3 %(lines 7%-7, 1 requests%): msgbatch_", err)
    assert.matches("3/3 batches ended; processing 0, succeeded 6, errored 1, canceled 0, expired 0", err, 1, true)
    assert.matches("7 results written to", err, 1, true)
    local ids = {}
    for line in util.read(dir .. "/results.jsonl"):gmatch("[^\n]+") do
      local r = cjson.decode(line)
      ids[#ids + 1] = r.custom_id
      if r.custom_id == "r5" then
        assert.equal("errored", r.result.type) -- a partial failure: the emulator has no such model
      else
        assert.equal("succeeded", r.result.type)
        assert.equal("You said: q " .. r.custom_id, r.result.message.content[1].text)
      end
    end
    assert.same({ "r1", "r2", "r3", "r4", "r5", "r6", "r7" }, ids)
  end)

  it("resumes from the state file without submitting twice", function()
    local lines = {}
    for i = 1, 5 do lines[i] = request("s" .. i) end
    local path = input("five.jsonl", lines)
    local state = dir .. "/state.json"
    os.remove(state)
    local out, err, code = cli { "submit", path, "--max-requests", "2", "--state", state }
    assert.equal(0, code, err)
    assert.equal(3, batches_made())
    local first, _ = out, nil
    assert.equal(3, select(2, out:gsub("msgbatch_", "")))
    -- the same command again: the batches are known, nothing is sent
    out, err, code = cli { "submit", path, "--max-requests", "2", "--state", state }
    assert.equal(0, code, err)
    assert.equal(first, out)
    assert.equal(3, batches_made())
    assert.matches("batch 2/3 %(lines 3%-4%): msgbatch_%w+, submitted before", err)
    -- a run cut short after its first batch: the rerun makes the other two only
    local doc = cjson.decode(util.read(state))
    doc.batches = { doc.batches[1] }
    util.write(state, cjson.encode(doc))
    _, err, code = cli { "submit", path, "--max-requests", "2", "--state", state }
    assert.equal(0, code, err)
    assert.equal(5, batches_made())
    -- status and results by the state file
    out, err, code = cli({ "status", "--state", state }, { COLUMNS = "200" })
    assert.equal(0, code, err)
    assert.matches("^ID +STATUS +PROCESSING +SUCCEEDED +ERRORED +CANCELED +EXPIRED +CREATED\n", out)
    assert.equal(3, select(2, out:gsub("\nmsgbatch_%w+ +ended ", "")))
    out, err, code = cli { "results", "--state", state }
    assert.equal(0, code, err)
    local ids = {}
    for line in out:gmatch("[^\n]+") do ids[#ids + 1] = cjson.decode(line).custom_id end
    assert.same({ "s1", "s2", "s3", "s4", "s5" }, ids)
  end)

  it("reports expired requests of a batch that ran out of time, next to those that succeeded", function()
    -- 4 requests over 100,000 s of the emulator's clock: 24 h after creation the last one has
    -- not been processed and expires
    emu:request("POST", "/_emulator/batches", { processing_seconds = 100000 })
    local path = input("slow.jsonl", { request("x1"), request("x2"), request("x3"), request("x4") })
    local out, err, code = cli { "submit", path }
    assert.equal(0, code, err)
    local id = out:match("^(msgbatch_%w+)\n$")
    out = cli { "status", id, "--json" }
    assert.equal("in_progress", cjson.decode(out)[1].processing_status)
    emu:clock { advance = 24 * 3600 + 1 }
    out, err, code = cli { "status", id, "--json" }
    assert.equal(0, code, err)
    local b = cjson.decode(out)[1]
    assert.equal("ended", b.processing_status)
    assert.same({ processing = 0, succeeded = 3, errored = 0, canceled = 0, expired = 1 }, b.request_counts)
    out = cli { "results", id, "--order", "arrival" }
    local kinds = {}
    for line in out:gmatch("[^\n]+") do
      local r = cjson.decode(line)
      kinds[r.custom_id] = r.result.type
    end
    assert.same({ x1 = "succeeded", x2 = "succeeded", x3 = "succeeded", x4 = "expired" }, kinds)
  end)

  -- The command in the background (its stderr in dir/err); err_until(text) reads that file until
  -- it holds text: the test moves on when the child has said so, not after some time.
  local function spawn(args, sub)
    local argv = { emulator.LUA, "bin/anthropic", "batch" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local cdir = dir .. "/" .. sub
    os.execute("mkdir -p " .. cdir)
    local child = util.spawn(argv, { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url,
      ANTHROPIC_AUTH_TOKEN = false, ANTHROPIC_API_VERSION = false, COLUMNS = false }, cdir)
    local socket = require "socket"
    function child.err_until(text)
      for _ = 1, 15000 do
        local f = io.open(cdir .. "/err")
        local got = f and f:read("*a") or ""
        if f then f:close() end
        if got:find(text, 1, true) then return got end
        socket.select(nil, nil, 0.002) -- (a pause between reads of the file, not a guess at timing)
      end
      error("the child never wrote " .. text .. "; its stderr: " .. (util.read(cdir .. "/err") or ""))
    end
    return child
  end

  local function twelve(name)
    local lines = {}
    for i = 1, 12 do
      lines[i] = request(i == 6 and "fail-6" or ("r" .. i), i == 2 and { model = "claude-nope" } or nil)
    end
    return input(name, lines)
  end

  it("submit --wait: progress lines as batches end, errored, expired and canceled results #lua54", function()
    -- three batches of 4, each taking 100,000 s of the emulator's clock (more than 24 h); the
    -- emulator fails what matches ^fail as a server error; r2 asks for a model that does not exist
    emu:request("POST", "/_emulator/batches", { processing_seconds = 100000, failures = { pattern = "^fail" } })
    local path = twelve("twelve.jsonl")
    local state = dir .. "/wait-state.json"
    os.remove(state)
    local child = spawn({ "submit", path, "--max-requests", "4", "--state", state, "--wait", "--interval", "0.02",
      "--out", dir .. "/wait-results.jsonl" }, "wait")
    child.err_until("0/3 batches ended; processing 12, succeeded 0, errored 0, canceled 0, expired 0")
    local ids = {}
    for i, b in ipairs(cjson.decode(util.read(state)).batches) do ids[i] = b.id end
    assert.equal(3, #ids)
    -- the third is canceled before any of its requests is done: it ends a second later
    assert.equal(200, emu:api("POST", "/v1/messages/batches/" .. ids[3] .. "/cancel", nil, key).status)
    emu:clock { advance = 2 }
    child.err_until("1/3 batches ended; processing 8, succeeded 0, errored 0, canceled 4, expired 0")
    -- a day later the other two expire with a quarter of their requests not done
    emu:clock { advance = 24 * 3600 }
    local out, err, code = child.wait()
    util.assert_no_leak(out .. err, key, "batch submit --wait")
    assert.equal(0, code, err)
    assert.matches("3/3 batches ended; processing 0, succeeded 4, errored 2, canceled 4, expired 2", err, 1, true)
    local progress = {}
    for l in err:gmatch("[^\n]+") do
      if l:find("batches ended", 1, true) then progress[#progress + 1] = l:gsub("; %d+s$", "") end
    end
    assert.same({ -- one line per change, no more
      "0/3 batches ended; processing 12, succeeded 0, errored 0, canceled 0, expired 0",
      "1/3 batches ended; processing 8, succeeded 0, errored 0, canceled 4, expired 0",
      "3/3 batches ended; processing 0, succeeded 4, errored 2, canceled 4, expired 2",
    }, progress)
    assert.matches("12 results written to", err, 1, true)
    local got = {}
    for l in util.read(dir .. "/wait-results.jsonl"):gmatch("[^\n]+") do
      local r = cjson.decode(l)
      got[#got + 1] = r.custom_id .. "=" .. r.result.type
      if r.custom_id == "fail-6" then assert.equal("api_error", r.result.error.error.type) end
      if r.custom_id == "r2" then assert.equal("not_found_error", r.result.error.error.type) end -- (no such model)
    end
    assert.same({ "r1=succeeded", "r2=errored", "r3=succeeded", "r4=expired",
      "r5=succeeded", "fail-6=errored", "r7=succeeded", "r8=expired",
      "r9=canceled", "r10=canceled", "r11=canceled", "r12=canceled" }, got)
  end)

  it("an interrupted submit resumes from --state without submitting twice #lua54", function()
    -- the second create is slow to answer: the interrupt comes while it is under way, so the
    -- emulator never makes that batch
    emu:request("POST", "/_emulator/batches", { processing_seconds = 3600 })
    emu:faults { { path = "/v1/messages/batches", method = "POST", skip = 1, count = 1, delay = 5 } }
    local path = twelve("again.jsonl")
    local state = dir .. "/again-state.json"
    os.remove(state)
    local args = { "submit", path, "--max-requests", "4", "--state", state, "--wait", "--interval", "0",
      "--out", dir .. "/again-results.jsonl" }
    local child = spawn(args, "again")
    child.err_until("batch 1/3 (lines 1-4, 4 requests): msgbatch_")
    child.signal("INT")
    local out, err, code = child.wait()
    assert.equal(130, code, err)
    local said = "anthropic batch submit: interrupted: run the same command again to go on from "
      .. state .. " (nothing is submitted twice)\n"
    assert.equal(said, err:sub(-#said))
    assert.not_matches("traceback", err)
    assert.equal("", out)
    assert.equal(1, #cjson.decode(util.read(state)).batches)
    local first = cjson.decode(util.read(state)).batches[1].id
    assert.equal(1, batches_made())
    -- interrupted again, this time while waiting: all three are made by then
    args[9] = "0.02" -- (--interval)
    child = spawn(args, "again2")
    child.err_until("0/3 batches ended")
    child.signal("INT")
    out, err, code = child.wait()
    assert.equal("", out)
    assert.equal(130, code, err)
    assert.matches("batch 1/3 (lines 1-4): " .. first .. ", submitted before", err, 1, true)
    assert.equal(3, batches_made())
    -- the third run submits nothing and writes the results once the batches have ended
    emu:clock { advance = 3601 }
    out, err, code = cli(args)
    assert.equal("", out) -- (the results went to --out)
    assert.equal(0, code, err)
    assert.equal(3, batches_made())
    assert.equal(3, select(2, err:gsub("submitted before", "")))
    assert.matches("12 results written to", err, 1, true)
    local n = 0
    for _ in util.read(dir .. "/again-results.jsonl"):gmatch("[^\n]+") do n = n + 1 end
    assert.equal(12, n)
  end)

  it("submit --wait on a terminal draws one progress bar line, rewritten in place #lua54", function()
    local path = input("tty.jsonl", { request("t1"), request("t2", { model = "claude-nope" }) })
    -- under script(1) both standard output and standard error are a terminal
    local cmd = string.format("%s bin/anthropic batch submit %s --wait --interval 0 --out %s/tty-results.jsonl",
      emulator.LUA, path, dir)
    local out, err, code = util.run({ "script", "-qec", cmd, "/dev/null" },
      { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_AUTH_TOKEN = false,
        ANTHROPIC_API_VERSION = false, COLUMNS = "100" })
    util.assert_no_leak(out .. err, key, "batch submit on a terminal")
    assert.equal(0, code, out .. err)
    local bar = out:match("\r(%[[#.]+%] 1/1 batches ended; processing 0, succeeded 1, errored 1, canceled 0, "
      .. "expired 0; %d+s)\r?\n")
    assert.truthy(bar, out)
    assert.equal(string.rep("#", #bar:match("%[([#.]+)%]")), bar:match("%[([#.]+)%]")) -- all done: full
    assert.is_nil(out:find("batches ended[^\r]*\n[^\r]*batches ended")) -- never a new line per poll
    assert.matches("2 results written to", out, 1, true)
  end)

  it("cancels, lists, and says what it does not know", function()
    emu:request("POST", "/_emulator/batches", { processing_seconds = 3600 })
    local path = input("one.jsonl", { request("c1") })
    local out, err, code = cli { "submit", path }
    assert.equal(0, code, err)
    local _
    local id = out:match("^(msgbatch_%w+)\n$")
    assert.truthy(id, out)
    out, err, code = cli { "cancel", id, "--json" }
    assert.equal(0, code, err)
    assert.equal("canceling", cjson.decode(out)[1].processing_status)
    out, err, code = cli { "list", "--json" }
    assert.equal(0, code, err)
    assert.equal(id, cjson.decode(out)[1].id)
    _, err, code = cli { "stauts", id }
    assert.equal(2, code)
    assert.matches("unknown subcommand 'stauts'; did you mean 'status'%?", err)
    _, err, code = cli { "status", "msgbatch_nope" }
    assert.equal(1, code)
    assert.matches("msgbatch_nope: api error 404", err, 1, true)
  end)
end)
