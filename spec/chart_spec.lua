-- `anthropic usage --chart` and `anthropic cost --chart` against known emulator data, run as a
-- child process: golden text at fixed widths (Unicode and ASCII), the printed numbers equal to
-- anthropic.reports' sums of the legacy reports and to the series, no escape codes off a terminal
-- or with NO_COLOR, narrow widths, an empty range, usage errors; and anthropic.chart from Lua.
local anthropic = require "anthropic"
local cjson = require "cjson"
local chart = require "anthropic.chart"
local series = require "anthropic.series"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local reports = anthropic.reports
local utf8 = require("anthropic.compat").utf8

local START, STOP = "2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z"

-- A week of usage: Sonnet growing (prod-backend, Production, Bob), Haiku shrinking (Staging,
-- batch, a service account), Opus every third day (default-scripts, the default workspace).
local function seed(emu)
  local records = {}
  for day = 1, 7 do
    local t = string.format("2026-03-%02dT%02d:20:00Z", day, (day * 5) % 24)
    records[#records + 1] = { time = t, api_key_id = "prod-backend", model = "claude-sonnet-4-6",
      input_tokens = 100000 * day, output_tokens = 7001 * day, account_id = "bob@example.com" }
    records[#records + 1] = { time = t, workspace_id = "Staging", model = "claude-haiku-4-5",
      input_tokens = 333333 * (8 - day), output_tokens = 11111, cache_read_input_tokens = 2777 * day,
      service_tier = "batch", service_account_id = "svac_01build" }
    if day % 3 == 0 then
      records[#records + 1] = { time = t, api_key_id = "default-scripts", model = "claude-opus-4-6",
        input_tokens = 50000 + day, output_tokens = 9000 }
    end
  end
  assert.equal(16, emu:add_usage(records).added)
end

local GOLDEN_MODEL = [[
cost by model per day, 2026-03-01 to 2026-03-07 (UTC), USD
2026-03-01  ███████▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓                             $1.60
2026-03-02  █████████████▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓                         $1.84
2026-03-03  ███████████████████▓▓▓▓▓▓▓▓▓▓▓▓▓▓▒▒▒▒▒▒▒▒              $2.55
2026-03-04  ███████████████████████████▓▓▓▓▓▓▓▓▓▓▓                 $2.32
2026-03-05  █████████████████████████████████▓▓▓▓▓▓▓▓              $2.55
2026-03-06  ███████████████████████████████████████▓▓▓▓▓▓▒▒▒▒▒▒▒▒  $3.27
2026-03-07  ██████████████████████████████████████████████▓▓▓      $3.03

█ claude-sonnet-4-6          $11.34   66.1%
▓ claude-haiku-4-5-20251001   $4.86   28.4%
▒ claude-opus-4-6             $0.95    5.5%

total $17.16 (1,715.54573 cents, exact)
]]

-- <PROD> and <STAGING> stand for the workspaces' ids (padded to their width, 31)
local GOLDEN_WORKSPACE_ASCII = [[
cost by workspace per day, 2026-03-01 to 2026-03-07 (UTC), USD
2026-03-01  #####=======|========                        $1.60 !
2026-03-02  ###########=|===========                     $1.84 !
2026-03-03  ############|###============++++++           $2.55 !
2026-03-04  ############|########=========               $2.32 !
2026-03-05  ############|##############=======           $2.55 !
2026-03-06  ############|###################=====++++++  $3.27 !
2026-03-07  ############|########################===     $3.03 !

# Production  <PROD>                           $11.34   66.1%
= Staging     <STAGING>                         $4.86   28.4%
+ (default)                                     $0.95    5.5%

total $17.16 (1,715.54573 cents, exact)
budget $30.00 a month (|: a day's share): 7 of 7 over
2026-03  $17.16 of $30.00 (57.2%)
]]

local function lines(text)
  local t = {}
  for l in text:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

local function widest(text)
  local w = 0
  for _, l in ipairs(lines(text)) do w = math.max(w, utf8.len(l)) end
  return w
end

describe("charts", function()
  local emu, admin_key, dir, admin

  setup(function()
    admin_key = emulator.make_key("admin01")
    emu = emulator.start { keys = { admin_key } }
    dir = util.tmpdir()
  end)
  teardown(function()
    emu:stop()
    util.rmdir(dir)
  end)
  before_each(function()
    emu:reset()
    emu:clock { set = "2026-03-20T08:00:00Z" }
    seed(emu)
    admin = anthropic.admin { api_key = admin_key, base_url = emu.url, max_retries = 0 }
  end)
  after_each(function() admin:close() end)

  -- `anthropic ARGS...` not on a terminal, in a UTF-8 locale without COLUMNS -> out, err, code
  local function cli(args, env)
    local e = { ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_BASE_URL = emu.url, ANTHROPIC_API_KEY = false,
      LANG = "C.UTF-8", LC_ALL = false, LC_CTYPE = false, COLUMNS = false, NO_COLOR = false }
    for k, v in pairs(env or {}) do e[k] = v end
    local argv = { emulator.LUA, "bin/anthropic" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local out, err, code = util.run(argv, e, dir)
    util.assert_no_leak(out .. err, admin_key, "anthropic " .. table.concat(args, " "))
    return out, err, code
  end

  local function workspace_ids()
    local ids = {}
    for w in admin.workspaces:list():each() do ids[w.name] = w.id end
    return ids
  end

  describe("golden text", function()
    it("Unicode at 72 columns, stacked by model", function()
      local out, err, code = cli { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08",
        "--by", "model", "--width", "72" }
      assert.equal(0, code, err)
      assert.equal(GOLDEN_MODEL, out)
      assert.equal(72, widest(out))
    end)

    it("ASCII at 64 columns, by workspace with names next to ids and a monthly budget", function()
      local args = { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--by", "workspace",
        "--width", "64", "--ascii", "--budget", "30/month" }
      local out, err, code = cli(args)
      assert.equal(0, code, err)
      local ids = workspace_ids()
      assert.equal(31, #ids.Production)
      local function placeholders(text)
        return (text:gsub(ids.Production, string.format("%-31s", "<PROD>")):gsub(ids.Staging,
          string.format("%-31s", "<STAGING>")))
      end
      local want = GOLDEN_WORKSPACE_ASCII
      out = placeholders(out)
      assert.equal(want, out)
      assert.not_matches("[\128-\255]", out) -- ASCII only
      -- a locale that is not UTF-8 gets the same without --ascii
      table.remove(args, 11)
      assert.equal(want, placeholders((cli(args, { LANG = "C" }))))
      assert.equal(want, placeholders((cli(args, { LANG = "en_US.UTF-8", LC_ALL = "POSIX" }))))
      assert.equal(GOLDEN_MODEL, (cli({ "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08",
        "--by", "model", "--width", "72" }, { LANG = "C", LC_CTYPE = "de_DE.utf8" })))
    end)

    it("is what docs/admin.md and docs/cli.md show", function()
      for _, f in ipairs { "docs/admin.md", "docs/cli.md" } do
        local fh = assert(io.open(f))
        local page = fh:read("*a")
        fh:close()
        assert.is_truthy(page:find(GOLDEN_MODEL, 1, true), f)
      end
      local fh = assert(io.open("docs/admin.md"))
      local page = fh:read("*a")
      fh:close()
      local ids = workspace_ids()
      local ascii = GOLDEN_WORKSPACE_ASCII:gsub("<PROD>%s+", ids.Production .. "  "):gsub("<STAGING>%s+",
        ids.Staging .. "   ")
      assert.is_truthy(page:find(ascii, 1, true))
    end)

    it("COLUMNS sets the width; without it and off a terminal, 80", function()
      local out = cli({ "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--by", "model" },
        { COLUMNS = "72" })
      assert.equal(GOLDEN_MODEL, out)
      out = cli { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--by", "model" }
      assert.equal(80, widest(out))
    end)
  end)

  describe("sums", function()
    it("cost: the printed total and bars equal reports.cost of the legacy report and the series", function()
      local out, err, code = cli { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--by", "model",
        "--width", "100" }
      assert.equal(0, code, err)
      local legacy = assert(admin.cost:report({ starting_at = START, ending_at = STOP,
        group_by = { "description" } }):all())
      local want = reports.cost(legacy)
      local cents = out:match("\ntotal %$[%d,.]+ %(([%d,.]+) cents, exact%)\n")
      assert.equal(want.amount, (cents:gsub(",", "")))
      assert.equal("$" .. reports.dollars(want.amount, 2):gsub("^(%d+)(%d%d%d)%.", "%1,%2."),
        out:match("\ntotal (%$[%d,.]+) "))
      -- each day's bar value is that day's sum, rounded to the cent
      local per_day = reports.cost(legacy, "day")
      local n = 0
      for day, value in out:gmatch("(2026%-03%-%d%d) [^\n]-(%$[%d,.]+)\n") do
        n = n + 1
        assert.equal("$" .. reports.dollars(per_day[day].amount, 2), value, day)
      end
      assert.equal(7, n)
      -- the legend's amounts are the models' sums
      for model, sums in pairs(reports.cost(legacy, "model")) do
        local shown = out:match("\n[^\n ]+ " .. model:gsub("%-", "%%-") .. " +(%$[%d,.]+) ")
        assert.equal("$" .. reports.dollars(sums.amount, 2):gsub("^(%d+)(%d%d%d)%.", "%1,%2."), shown, model)
      end
      -- --json prints the series: the same exact numbers
      local doc = cjson.decode((cli { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08",
        "--by", "model", "--json" }))
      assert.equal(want.amount, doc.exact_total)
      assert.equal(want.dollars, doc.exact_dollars)
      assert.equal(7, #doc.buckets)
      assert.same({ "claude-sonnet-4-6", "claude-haiku-4-5-20251001", "claude-opus-4-6" }, doc.keys)
      local s = assert(series.collect(admin, { metric = "cost", since = START, ["until"] = STOP, by = "model" }))
      assert.equal(s.exact_total, doc.exact_total)
    end)

    it("usage: total tokens (and --tokens output) equal reports.usage of the legacy report", function()
      local legacy = assert(admin.usage:messages({ starting_at = START, ending_at = STOP, bucket_width = "1d",
        limit = 31 }):all())
      local want = reports.usage(legacy)
      local out, err, code = cli { "usage", "--chart", "--since", "2026-03-01", "--until", "2026-03-15",
        "--by", "api_key,week", "--width", "70" }
      assert.equal(0, code, err)
      local total = out:match("\ntotal ([%d,]+) tokens\n")
      assert.equal(tostring(want.input_tokens + want.output_tokens), (total:gsub(",", "")))
      assert.matches("\n2026%-03%-01  ", out) -- the first week cut to the range (a Sunday)
      assert.matches("\n2026%-03%-02  ", out)
      assert.matches("\n2026%-03%-09  +0\n", out) -- an empty week is shown
      local keys = {}
      for k in admin.api_keys:list():each() do keys[k.name] = k.id end
      assert.matches("\n▓ prod%-backend +" .. keys["prod-backend"] .. " ", out)
      assert.matches("\n█ %(no key%) ", out)
      out = cli { "usage", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--tokens", "output",
        "--by", "service_tier" }
      assert.equal(tostring(want.output_tokens), (out:match("\ntotal ([%d,]+) tokens\n"):gsub(",", "")))
      assert.matches("^output tokens by service tier per day", out)
    end)
  end)

  describe("the terminal", function()
    it("no escape codes off a terminal; colors on one, never with NO_COLOR", function()
      local args = { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--by", "model" }
      assert.not_matches("\27", (cli(args)))
      if not os.execute("command -v script >/dev/null 2>&1") then
        pending("needs script(1) (util-linux) for a pseudo-terminal")
        return
      end
      local argv = { "script", "-qec", emulator.LUA .. " bin/anthropic " .. table.concat(args, " ") .. " --width 72",
        "/dev/null" }
      local env = { ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_BASE_URL = emu.url, LANG = "C.UTF-8", LC_ALL = false,
        NO_COLOR = false, TERM = "xterm" }
      local out, err, code = util.run(argv, env, dir)
      util.assert_no_leak(out .. err, admin_key, "the chart on a terminal")
      assert.equal(0, code, err)
      assert.matches("\n2026-03-01  \27[36m███████\27[0m\27[33m▓▓▓", out, 1, true)
      assert.matches("\n\27[36m█\27[0m claude-sonnet-4-6 ", out, 1, true)
      assert.equal(GOLDEN_MODEL, (out:gsub("\27%[[%d;]*m", ""):gsub("\r\n", "\n")))
      env.NO_COLOR = "1"
      out = util.run(argv, env, dir)
      assert.not_matches("\27", out)
      assert.equal(GOLDEN_MODEL, (out:gsub("\r\n", "\n")))
    end)

    it("narrow widths: every line fits, values go short, the exact total stays whole", function()
      for _, w in ipairs { 30, 34, 41, 50 } do
        for _, args in ipairs {
          { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--by", "actor", "--budget", "1/day" },
          { "usage", "--chart", "--since", "2026-03-03", "--until", "2026-03-04", "--by", "model,hour" },
          { "cost", "--chart", "--since", "2026-01-01", "--until", "2026-03-08", "--by", "workspace,month", "--ascii" },
        } do
          args[#args + 1] = "--width"
          args[#args + 1] = tostring(w)
          local out, err, code = cli(args)
          assert.equal(0, code, err)
          assert.is_true(widest(out) <= w, table.concat(args, " ") .. "\n" .. out)
        end
      end
      local out = cli { "cost", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--by", "actor",
        "--width", "30", "--budget", "1/day" }
      assert.matches("\ntotal %$17%.16\n%(1,715%.54573 cents, exact%)\nbudget %$1%.00/day: 7 of 7 over\n$", out)
      assert.matches("\n█ Bob Develop… +%$11%.34 ", out) -- names cut, amounts whole
      out = cli { "usage", "--chart", "--since", "2026-03-01", "--until", "2026-03-08", "--width", "30" }
      assert.matches("\n2026%-03%-01  [^\n]- 2%.5M\n", out) -- short values leave the bar room
      assert.matches("\ntotal 12,602,894 tokens\n", out)
    end)

    it("an empty range: every day at zero, no legend, a zero total", function()
      local out, err, code = cli { "cost", "--chart", "--since", "2026-02-01", "--until", "2026-02-04", "--by", "model",
        "--width", "50" }
      assert.equal(0, code, err)
      assert.equal(table.concat({
        "cost by model per day, 2026-02-01 to 2026-02-03 (…",
        "2026-02-01                                   $0.00",
        "2026-02-02                                   $0.00",
        "2026-02-03                                   $0.00",
        "",
        "total $0.00 (0 cents, exact)",
      }, "\n") .. "\n", out)
      local doc = cjson.decode((cli { "usage", "--chart", "--since", "2026-02-01", "--until", "2026-02-04", "--json" }))
      assert.same({}, doc.keys)
      assert.equal("0", doc.exact_total)
    end)
  end)

  describe("usage errors (exit 2, nothing sent)", function()
    local cases = {
      { { "cost", "--chart", "--width", "abc" },
        "--width must be a whole number of columns from 30 to 1000 (got 'abc')" },
      { { "cost", "--chart", "--width", "10" }, "columns from 30 to 1000 (got '10')" },
      { { "usage", "--chart", "--width", "72.5" }, "(got '72.5')" },
      { { "cost", "--chart", "--by", "colour" }, "--by takes one of model, workspace, api_key, actor, service_tier and "
        .. "one of hour, day, week, month (got 'colour')" },
      { { "cost", "--chart", "--by", "model,workspace" },
        "--by takes one dimension to stack by (got model and workspace)" },
      { { "usage", "--chart", "--by", "day,week" }, "--by takes one time bucket" },
      { { "cost", "--chart", "--budget", "lots" }, "--budget takes an amount a month" },
      { { "cost", "--chart", "--budget", "5/year" }, "(got '5/year')" },
      { { "cost", "--chart", "--budget", "0" }, "(got '0')" },
      { { "usage", "--chart", "--tokens", "some" }, "--tokens takes cache_read, cache_write, input, output" },
      { { "cost", "--chart", "--tokens", "output" }, "unknown option '--tokens'" },
      { { "cost", "--chart", "--csv" }, "--chart and --csv cannot be combined" },
      { { "usage", "--chart", "--legacy" }, "--chart reads the analytics API; drop --legacy" },
      { { "cost", "--width", "80" }, "--width goes with --chart" },
      { { "usage", "--budget", "80" }, "--budget goes with --chart" },
      { { "cost", "--chart", "--since", "2026-03-08", "--until", "2026-03-01" }, "--until must be after --since" },
      { { "cost", "--chart", "--since", "last week" }, "--since: 'last week' is not a time" },
    }
    for _, c in ipairs(cases) do
      it(table.concat(c[1], " "), function()
        local before = #emu:log().requests
        local out, err, code = cli(c[1])
        assert.equal(2, code, err)
        assert.equal("", out)
        assert.matches(c[2], err, 1, true)
        assert.matches("Run `anthropic " .. c[1][1] .. " analytics --help` for usage.", err, 1, true)
        assert.equal(before, #emu:log().requests)
      end)
    end

    it("--help shows the chart's options", function()
      for _, cmd in ipairs { "usage", "cost" } do
        local out, _, code = cli { cmd, "--help" }
        assert.equal(0, code)
        assert.matches("\n  --chart ", out, 1, true)
        assert.matches("\n  --budget AMOUNT[/P] ", out, 1, true)
      end
      assert.matches("\n  --tokens WHAT ", (cli { "usage", "--help" }), 1, true)
    end)
  end)

  describe("anthropic.chart from Lua", function()
    local function fake(parts_list)
      local s = { metric = "usage", unit = "tokens", width = "1d", by = "model", field = "total_tokens",
        starting_at = "2026-03-01T00:00:00Z", ending_at = "2026-03-04T00:00:00Z", buckets = {}, keys = {},
        labels = {}, totals = {}, exact_totals = {}, total = 0 }
      for i, parts in ipairs(parts_list) do
        local b = { starting_at = string.format("2026-03-%02dT00:00:00Z", i),
          ending_at = string.format("2026-03-%02dT00:00:00Z", i + 1), parts = {}, exact_parts = {}, total = 0 }
        for k, v in pairs(parts) do
          b.parts[k], b.exact_parts[k], b.total = v, tostring(v), b.total + v
          s.totals[k] = (s.totals[k] or 0) + v
        end
        b.exact = tostring(b.total)
        s.total = s.total + b.total
        s.buckets[i] = b
      end
      for k, v in pairs(s.totals) do
        s.keys[#s.keys + 1] = k
        s.exact_totals[k] = tostring(v)
        s.labels[k] = k
      end
      table.sort(s.keys, function(a, b) return s.totals[a] > s.totals[b] end)
      s.exact_total = tostring(s.total)
      return s
    end

    it("stacks the largest keys and puts the rest under other", function()
      local parts = {}
      for i = 1, 8 do parts["m" .. i] = 10 * (9 - i) end -- m1 = 80 ... m8 = 10
      local text = chart.render(fake { parts }, { width = 60, stack = 3, ascii = true })
      assert.matches("\n2026%-03%-01  #+=+%++%.+  +360\n", text)
      assert.matches("\n%. other %(5%) +150 +41%.7%%\n", text)
      local line = text:match("\n2026%-03%-01  ([^ ]+)")
      assert.equal(60 - 12 - 2 - 3, #line) -- the longest bar fills the room
      -- with one key more than stack, that key is shown rather than a one-key "other"
      text = chart.render(fake { { a = 3, b = 2, c = 1 } }, { width = 40, stack = 2, ascii = true })
      assert.not_matches("other", text)
    end)

    it("labels are escaped for display", function()
      local s = fake { { ["evil\27[31m"] = 5 } }
      local text = chart.render(s, { width = 60 })
      assert.not_matches("\27", text)
      assert.matches("evil\\u{1B}", text, 1, true)
    end)

    it("refuses what is not a series and bad options", function()
      assert.error_matches(function() chart.render({}) end, "expected a series from anthropic.series.collect")
      local s = fake { { a = 1 } }
      assert.error_matches(function() chart.render(s, { width = 12 }) end,
        "width must be a whole number of at least 30")
      assert.error_matches(function() chart.render(s, { budget = { amount = -1 } }) end, "budget must be")
      assert.error_matches(function() chart.render(s, { budget = { amount = 1, period = "year" } }) end,
        "budget must be")
    end)

    it("a budget's share follows the length of the month", function()
      local s = fake { { a = 1.5 } }
      s.buckets[1].starting_at, s.buckets[1].ending_at = "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"
      local feb = chart.render(s, { width = 40, ascii = true, budget = { amount = 56 } }) -- 2 a day in February
      assert.matches("\n2026%-02%-01  #+ *| +2\n", feb) -- (1.5 tokens show rounded)
      assert.matches("0 of 1 over", feb)
      s.buckets[1].starting_at, s.buckets[1].ending_at = "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"
      local mar = chart.render(s, { width = 40, ascii = true, budget = { amount = 43.4 } }) -- 1.4 a day in March
      assert.matches(" !\n", mar)
      assert.matches("1 of 1 over", mar)
    end)
  end)
end)
