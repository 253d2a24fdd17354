-- `anthropic report --html FILE` and anthropic.report_html: the page is self-contained (no script,
-- nothing from the network), escapes every name, reads on a phone and prints on A4; its charts'
-- numbers equal the API's sums (anthropic.reports over the legacy reports) for known emulator
-- data; and a real headless Chromium renders it (a screenshot at phone and desktop width that is
-- not blank, and the chart elements in the DOM).
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local html = require "anthropic.report_html"
local reports = require "anthropic.reports"
local util = require "helpers.util"

local START, STOP = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"

local function by(list, field, value)
  for _, x in ipairs(list) do
    if x[field] == value then return x end
  end
end

-- The attributes of the element with id="id": { name = value } (values as written, still escaped).
local function element(page, id)
  local tag = page:match('<[%w]+ id="' .. id:gsub("%-", "%%-") .. '"[^>]*>')
  assert(tag, "no element with id " .. id)
  local attrs = {}
  for k, v in tag:gmatch('([%w%-]+)="([^"]*)"') do attrs[k] = v end
  return attrs
end

-- The rows of the totals table of chart `id`: { [data-key] = { total =, exact = } }.
local function totals(page, id)
  local t = page:match('<table class="totals" data%-chart="' .. id:gsub("%-", "%%-") .. '">(.-)</table>')
  assert(t, "no totals table for " .. id)
  local out = {}
  for k, total, exact in t:gmatch('<tr data%-key="([^"]*)" data%-total="([^"]*)" data%-exact="([^"]*)">') do
    out[k] = { total = total, exact = exact }
  end
  return out
end

local function assert_self_contained(page)
  assert.is_nil(page:find("<script", 1, true), "a script")
  assert.is_nil(page:lower():find("https?://"), "a network address")
  assert.is_nil(page:find("@import", 1, true), "an @import")
  assert.is_nil(page:find("url(", 1, true), "a url()")
  for tag in page:gmatch("<[^>]+>") do -- (escaped text holds no "<")
    assert.is_nil(tag:lower():find("%ssrc%s*="), "a src attribute: " .. tag)
    assert.is_nil(tag:lower():find("%shref%s*="), "an href attribute: " .. tag)
  end
  assert.is_nil(page:find("<link", 1, true), "a link element")
  assert.truthy(page:find('<meta name="viewport" content="width=device-width, initial-scale=1">', 1, true))
  assert.truthy(page:find("@page{size:A4", 1, true))
  assert.truthy(page:find("@media print{", 1, true))
end

-- A series as series.collect returns it (hand-made).
local function series(by_dim, unit, labels)
  local buckets = {}
  for d = 1, 3 do
    buckets[d] = { starting_at = string.format("2026-12-%02dT00:00:00Z", d),
      ending_at = string.format("2026-12-%02dT00:00:00Z", d + 1), total = 3 * d, parts = { a = d, b = 2 * d } }
  end
  return { metric = unit == "USD" and "cost" or "usage", unit = unit, width = "1d", by = by_dim, buckets = buckets,
    keys = { "b", "a" }, labels = labels, totals = { a = 6, b = 12 }, exact_totals = { a = "600", b = "1200" },
    total = 18, exact_total = "1800" }
end

describe("report_html.render", function()
  it("is self-contained, and escapes names wherever they are shown", function()
    local evil = '<img src=x onerror="alert(1)">&\'"'
    local page = html.render {
      since = "2026-12-01T00:00:00Z", ["until"] = "2026-12-04T00:00:00Z",
      cost = { model = series("model", "USD", { a = evil, b = "Prod\u{202E}noitcudorP" }) },
      usage = series("model", "tokens", {}),
      findings = { { kind = "rotation", status = "overdue", key = evil, key_id = "apikey_<1>", workspace = evil,
        text = "rotation: key " .. evil } },
    }
    assert_self_contained(page)
    assert.is_nil(page:find(evil, 1, true))
    assert.is_nil(page:find("<img", 1, true))
    assert.truthy(page:find("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;&quot;", 1, true))
    assert.is_nil(page:find("\u{202E}", 1, true)) -- the override shown as an escape, not applied
    assert.truthy(page:find("Prod\\u{202E}noitcudorP", 1, true))
    assert.truthy(page:find("apikey_&lt;1&gt;", 1, true))
  end)

  it("puts the series' numbers into data attributes and titles", function()
    local page = html.render { cost = { model = series("model", "USD", {}) } }
    local svg = element(page, "chart-cost-model")
    assert.equal("18", svg["data-total"])
    assert.equal("1800", svg["data-exact-total"])
    local t = totals(page, "chart-cost-model")
    assert.same({ a = { total = "6", exact = "600" }, b = { total = "12", exact = "1200" } }, t)
    -- each bar's parts add up to its total, and say their value in a <title>
    local bars = 0
    for total, body in page:gmatch('<g class="bar"[^>]-data%-total="([^"]*)"><title>.-</title>(.-)</g>') do
      local sum = 0
      for v in body:gmatch('data%-value="([^"]*)"') do sum = sum + tonumber(v) end
      assert.equal(tonumber(total), sum)
      bars = bars + 1
    end
    assert.equal(3, bars)
    assert.truthy(page:find("<title>b: $4.00</title>", 1, true))
  end)

  it("folds the keys past MAX_STACKS into one 'other' stack, and lists every key in the table", function()
    local s = { metric = "cost", unit = "USD", width = "1d", by = "model", keys = {}, totals = {}, labels = {},
      buckets = { { starting_at = "2026-12-01T00:00:00Z", ending_at = "2026-12-02T00:00:00Z", parts = {} } } }
    local total = 0
    for i = 1, 12 do
      local k = "m" .. i
      s.keys[i], s.totals[k], s.buckets[1].parts[k] = k, 13 - i, 13 - i
      total = total + 13 - i
    end
    s.total, s.buckets[1].total = total, total
    local page = html.render { cost = { model = s } }
    assert.truthy(page:find('data-key="(other)" data-value="15"', 1, true)) -- m8..m12: 5+4+3+2+1 = 15
    local n = 0
    for _ in pairs(totals(page, "chart-cost-model")) do n = n + 1 end
    assert.equal(12, n)
  end)

  it("draws the budget burn-down with the projection, and says when nothing is there", function()
    local page = html.render { budget = { month = "2026-12", days = 31, limit_usd = "100.00", spent_usd = "30.00",
      projected_usd = "310.00", projected_over = true, percent = 30, status = "warning", source = "--budget",
      daily = { { day = "2026-12-01", usd = 10 },
        { day = "2026-12-02", usd = 10 }, { day = "2026-12-03", usd = 10 } } },
      cache = {}, findings = {} }
    local b = element(page, "chart-budget")
    assert.equal("100.00", b["data-budget-usd"])
    assert.equal("310.00", b["data-projected-usd"])
    assert.truthy(page:find('data-day="2026-12-03" data-cumulative-usd="30"', 1, true))
    assert.truthy(page:find("(over the budget)", 1, true))
    assert.truthy(page:find("no data in this range", 1, true))
    assert.truthy(page:find('id="findings-none"', 1, true))
  end)
end)

describe("anthropic report --html", function()
  local emu, admin_key, admin, dir, page

  -- run `anthropic ARGS...` -> stdout, stderr, exit code (the key in the environment only)
  local function cli(args)
    local argv = { "lua5.4", "bin/anthropic" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local out, err, code = util.run(argv, { ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_BASE_URL = emu.url,
      ANTHROPIC_API_KEY = false, ANTHROPIC_PROFILE = false, ANTHROPIC_CONFIG = false, XDG_CONFIG_HOME = dir }, dir)
    util.assert_no_leak(out .. err, admin_key, "the output of anthropic report")
    return out, err, code
  end

  local EVIL = 'Ops <b>&"\'</b>'

  setup(function()
    admin_key = emulator.make_key("admin01")
    emu = emulator.start { keys = { admin_key } }
    dir = util.tmpdir()
    emu:clock { set = "2026-04-01T08:00:00Z" }
    admin = anthropic.admin { api_key = admin_key, base_url = emu.url, max_retries = 0 }
    local keys = assert(admin.api_keys:list():all())
    local ws = assert(admin.workspaces:list():all())
    local staging = by(ws, "name", "Staging").id
    assert(admin.workspaces:update(staging, { name = EVIL }))
    local prod_key, default_key = by(keys, "name", "prod-backend").id, by(keys, "name", "default-scripts").id
    local records = {}
    for day = 1, 31 do
      local t = string.format("2026-03-%02dT%02d:15:00Z", day, day % 24)
      records[#records + 1] = { time = t, api_key_id = prod_key, model = "claude-sonnet-4-6",
        input_tokens = 1234567 + day, output_tokens = 54321 * day, cache_read_input_tokens = 1000 * day }
      records[#records + 1] = { time = t, workspace_id = staging, model = "claude-haiku-4-5",
        input_tokens = 777, output_tokens = 333, cache_creation = { ephemeral_5m_input_tokens = 10 } }
      records[#records + 1] = { time = t, api_key_id = default_key, model = "claude-opus-4-6",
        input_tokens = 1 + day, output_tokens = 1 }
    end
    assert.equal(93, emu:add_usage(records).added)
    local out, err, code = cli { "report", "--html", dir .. "/report.html", "--since", "2026-03-01",
      "--until", "2026-04-01", "--budget", "250" }
    assert.equal(0, code, err)
    assert.truthy(out:find("wrote " .. dir .. "/report.html", 1, true))
    page = util.read(dir .. "/report.html")
  end)
  teardown(function()
    emu:stop()
    util.rmdir(dir)
  end)

  it("writes a self-contained page with every section, the workspace's name escaped", function()
    assert_self_contained(page)
    for _, id in ipairs { "chart-cost-model", "chart-cost-workspace", "chart-cost-api-key", "chart-cost-actor",
                          "chart-usage", "chart-cache", "chart-budget", "tokens" } do
      assert.truthy(page:find('id="' .. id .. '"', 1, true), id)
    end
    assert.truthy(page:find('id="findings"', 1, true) or page:find('id="findings-none"', 1, true))
    assert.is_nil(page:find(EVIL, 1, true))
    assert.truthy(page:find("Ops &lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;", 1, true))
  end)

  it("draws the API's sums: cost by model and workspace, tokens, cache reads", function()
    local cost = assert(admin.cost:report { starting_at = START, ending_at = STOP,
      group_by = { "workspace_id" } }:all())
    local total = reports.cost(cost)
    assert.is_true(tonumber(total.amount) > 0)
    for _, id in ipairs { "chart-cost-model", "chart-cost-workspace", "chart-cost-api-key", "chart-cost-actor" } do
      assert.equal(total.amount, element(page, id)["data-exact-total"], id)
    end
    local per_ws = reports.cost(cost, "workspace")
    local t = totals(page, "chart-cost-workspace")
    for k, s in pairs(per_ws) do
      assert.equal(s.amount, t[k] and t[k].exact, k)
    end
    local usage = assert(admin.usage:messages { starting_at = START, ending_at = STOP, bucket_width = "1d",
      limit = 31 }:all())
    local u = reports.usage(usage)
    assert.equal(tostring(u.input_tokens + u.output_tokens), element(page, "chart-usage")["data-total"])
    local cache = element(page, "chart-cache")
    assert.equal(tostring(u.input_tokens), cache["data-input-tokens"])
    assert.equal(tostring(u.cache_read_input_tokens), cache["data-cache-read-input-tokens"])
    assert.truthy(page:find('data-field="output_tokens" data-total="' .. u.output_tokens .. '"', 1, true))
    assert.equal("250.00", element(page, "chart-budget")["data-budget-usd"])
  end)

  it("lists the keys due for rotation, idle and inactive (the seed: keys of 200, 120, 20 and 10 days)", function()
    local keys = assert(admin.api_keys:list():all())
    local function kinds(name)
      local id, out = by(keys, "name", name).id, {}
      for kind in page:gmatch('<tr data%-kind="([^"]*)" data%-key%-id="' .. id .. '">') do out[#out + 1] = kind end
      table.sort(out)
      return out
    end
    assert.same({ "idle", "rotation" }, kinds("default-scripts"))
    assert.same({ "idle", "rotation" }, kinds("prod-backend"))
    assert.same({}, kinds("prod-batch"))
    assert.same({ "inactive" }, kinds("staging-ci"))
    assert.truthy(page:find("days past max_age_days 90", 1, true))
  end)

  -- A profile's spend_limit caps what one client spends in one run: it is not a month's budget
  -- (docs/cli.md, as for --chart): only --budget draws the burn-down's budget line.
  it("draws no budget without --budget, even with a profile's spend_limit, and says how to give one", function()
    os.execute("mkdir -p " .. dir .. "/anthropic && chmod 700 " .. dir .. "/anthropic")
    util.write(dir .. "/anthropic/config.lua", 'profile "team" { default = true, spend_limit = { usd = 75 } }\n', "600")
    local _, err, code = cli { "report", "--html", dir .. "/p.html", "--since", "2026-03-01", "--until", "2026-03-02" }
    os.remove(dir .. "/anthropic/config.lua")
    assert.equal(0, code, err)
    local p = util.read(dir .. "/p.html")
    assert.is_nil(p:find("data-budget-usd", 1, true))
    assert.truthy(p:find("No budget: give --budget USD", 1, true))
  end)

  it("has help, is listed, and is in the completion script and the man page", function()
    local out, _, code = cli { "report", "--help" }
    assert.equal(0, code)
    assert.truthy(out:find("usage: anthropic report --html FILE", 1, true))
    out = cli { "--help" }
    assert.truthy(out:find("\n  report ", 1, true))
    out = cli { "completion", "bash" }
    assert.truthy(out:find("--max-age-days", 1, true))
    out = cli { "completion", "man" }
    assert.truthy(out:find("\n.SS report\n", 1, true))
  end)

  it("refuses bad options with a usage error", function()
    local _, err, code = cli { "report", "--since", "2026-03-01" }
    assert.equal(2, code)
    assert.truthy(err:find("give --html FILE", 1, true))
    _, err, code = cli { "report", "--html", dir .. "/x.html", "--budget", "lots" }
    assert.equal(2, code)
    assert.truthy(err:find("--budget takes an amount in USD", 1, true))
    _, err, code = cli { "report", "--html", dir .. "/no/such/dir/x.html", "--since", "2026-03-01",
      "--until", "2026-03-02" }
    assert.equal(1, code)
    assert.truthy(err:find("cannot write the report", 1, true))
  end)

  describe("in headless Chromium", function()
    -- os.execute's success: true on 5.2+, 0 on 5.1 and LuaJIT
    local function succeeded(r) return r == true or r == 0 end
    local chromium = succeeded(os.execute("command -v chromium >/dev/null 2>&1"))

    local function run_chromium(args, out)
      -- (env -u LD_PRELOAD: under make sanitize the ASan runtime preloaded for lua5.4 must not
      -- reach chromium, which is not built for it)
      return succeeded(os.execute("env -u LD_PRELOAD timeout 60 chromium --headless --no-sandbox --disable-gpu "
        .. "--hide-scrollbars "
        .. "--disable-dev-shm-usage --user-data-dir=" .. dir .. "/chromium-profile "
        .. "--no-first-run --disable-extensions " .. args ..
        " >" .. (out or (dir .. "/chromium.log")) .. " 2>>" .. dir .. "/chromium.log"))
    end

    local function size(path)
      local f = io.open(path, "rb")
      if not f then return 0 end
      local n = f:seek("end")
      f:close()
      return n
    end

    local function png_ok(path, w)
      local f = assert(io.open(path, "rb"))
      local head = f:read(24)
      f:close()
      assert.equal("\137PNG\r\n\26\n", head:sub(1, 8))
      local width = ((head:byte(17) * 256 + head:byte(18)) * 256 + head:byte(19)) * 256 + head:byte(20)
      assert.equal(w, width)
    end

    if not chromium and os.getenv("CI") ~= "true" then
      pending("chromium is not installed (apt-get install -y chromium, or make deps as root)")
      return
    end

    it("renders the charts at phone and desktop width: screenshots that are not blank", function()
      assert.is_true(chromium, "chromium must be installed under CI=true (the Makefile's DEB_PKGS)")
      util.write(dir .. "/blank.html", '<!DOCTYPE html><html><body style="background:#fff"></body></html>')
      local file = "file://" .. dir .. "/report.html"
      for _, w in ipairs { 390, 1280 } do
        local shot, blank = dir .. "/report-" .. w .. ".png", dir .. "/blank-" .. w .. ".png"
        assert.is_true(run_chromium("--window-size=" .. w .. ",2400 --screenshot=" .. shot .. " " .. file),
          util.read(dir .. "/chromium.log"))
        assert.is_true(run_chromium("--window-size=" .. w .. ",2400 --screenshot=" .. blank .. " file://" .. dir
          .. "/blank.html"))
        png_ok(shot, w)
        png_ok(blank, w)
        -- a one-color page of the same size compresses to a few kB; text, bars and lines do not
        assert.is_true(size(shot) > 8 * size(blank) and size(shot) > 20000,
          string.format("screenshot %d bytes, blank page %d bytes", size(shot), size(blank)))
      end
      local dom = dir .. "/dom.html"
      assert.is_true(run_chromium("--dump-dom " .. file, dom))
      local text = util.read(dom)
      for _, id in ipairs { "chart-cost-model", "chart-cost-workspace", "chart-cost-api-key", "chart-cost-actor",
                            "chart-usage", "chart-cache", "chart-budget" } do
        assert.truthy(text:find('<svg id="' .. id .. '"', 1, true), id)
      end
      assert.truthy(text:find("<rect", 1, true))
    end)

    it("prints on A4 (@page size A4): every page of the PDF is 210 x 297 mm", function()
      local pdf = dir .. "/report.pdf"
      assert.is_true(run_chromium("--no-pdf-header-footer --print-to-pdf=" .. pdf ..
        " file://" .. dir .. "/report.html"),
        util.read(dir .. "/chromium.log"))
      local text = util.read(pdf)
      assert.equal("%PDF-", text:sub(1, 5))
      local pages = 0
      for w, h in text:gmatch("/MediaBox %[0 0 ([%d.]+) ([%d.]+)%]") do
        assert.is_true(math.abs(tonumber(w) - 595.28) < 1 and math.abs(tonumber(h) - 841.89) < 1, w .. " x " .. h)
        pages = pages + 1
      end
      assert.is_true(pages >= 2, "pages: " .. pages)
    end)
  end)
end)
