-- API versions (docs/getting-started.md#api-versions): the client sends 2026-10-21 unless pinned
-- to 2023-06-01 (option, ANTHROPIC_API_VERSION, the CLI's --api-version), refuses locally what
-- 2026-10-21 answers with a 400, and the emulator models both versions by the request's header.
local anthropic = require "anthropic"
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local MODEL = "claude-opus-4-6"

local function params(extra, messages)
  local p = { model = MODEL, max_tokens = 64, messages = messages or { { role = "user", content = "Hello" } } }
  for k, v in pairs(extra or {}) do p[k] = v end
  return p
end

-- The requests 2026-10-21 refuses, each with what the client's message names.
local DOCUMENT = { type = "document", source = { type = "text", media_type = "text/plain", data = "A memo." } }
local CITED = { type = "text", text = "As the memo says.",
  citations = { { type = "char_location", cited_text = "A memo.", document_index = 0,
    start_char_index = 0, end_char_index = 7 } } }
local REFUSED = {
  { "temperature", params { temperature = 0.5 }, "temperature is not accepted under API version 2026%-10%-21" },
  { "top_p", params { top_p = 0.9 }, "top_p is not accepted" },
  { "top_k (at any value)", params { top_k = 1 }, "top_k is not accepted" },
  { "a document block in an assistant message", params(nil, {
      { role = "user", content = "Summarise." }, { role = "assistant", content = { DOCUMENT } },
      { role = "user", content = "Go on." } }),
    "messages%[2%]%.content%[1%]: a document block in an assistant message" },
  { "a user text block with citations", params(nil, { { role = "user", content = { CITED } } }),
    "messages%[1%]%.content%[1%]: a text block with citations in a user message" },
  { "citations inside a search_result block", params(nil, { { role = "user", content = {
      { type = "search_result", source = "https://example.com", title = "Memo",
        content = { { type = "text", text = "Plain." }, CITED } } } } }),
    "messages%[1%]%.content%[1%]%.content%[2%]: a text block with citations" },
}

describe("API versions", function()
  local emu, key
  setup(function()
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  teardown(function() emu:stop() end)
  before_each(function() emu:reset() end)

  local function client(version)
    return anthropic.new { api_key = key, base_url = emu.url, api_version = version, max_retries = 0 }
  end

  local function sent_versions()
    local out = {}
    for _, r in ipairs(emu:log().requests) do out[#out + 1] = r.headers["anthropic-version"] end
    return out
  end

  describe("the client", function()
    it("sends 2026-10-21 by default and 2023-06-01 when pinned", function()
      local c = client()
      assert(c.messages:create(params()))
      assert(c.messages:count_tokens { model = MODEL, messages = { { role = "user", content = "Hi" } } })
      c:close()
      local old = client("2023-06-01")
      assert(old.messages:create(params()))
      old:close()
      assert.same({ "2026-10-21", "2026-10-21", "2023-06-01" }, sent_versions())
      assert.equal("2026-10-21", require("anthropic.versions").DEFAULT)
    end)

    it("refuses an unknown version with a config error that lists the known ones", function()
      for _, v in ipairs { "2024-01-01", "2023-01-01", "", "latest" } do
        local ok, err = pcall(anthropic.new, { api_key = key, base_url = emu.url, api_version = v })
        assert.is_false(ok)
        assert.is_true(anthropic.is_error(err), "an error object for " .. v)
        assert.equal("config", err.kind)
        assert.equal(string.format('anthropic.new: api_version "%s" is not an API version this library knows; use '
          .. "one of 2026-10-21, 2023-06-01 (or leave it out for 2026-10-21)", v), err.message)
      end
      local ok, err = pcall(anthropic.admin, { api_version = "2099-01-01" })
      assert.is_false(ok)
      assert.equal("config", err.kind)
      assert.matches("^anthropic.admin: ", err.message)
      ok, err = pcall(anthropic.new, { api_version = 20261021 })
      assert.is_false(ok)
      assert.equal("config", err.kind)
      assert.equal("option 'api_version' for anthropic.new must be a string (got number)", err.message)
    end)

    it("reads ANTHROPIC_API_VERSION; the option wins over it; a bad one names the variable", function()
      local code = string.format([[
        local anthropic = require "anthropic"
        local emu_url, key = %q, %q
        local c = anthropic.new { api_key = key, base_url = emu_url, max_retries = 0 }
        assert(c.messages:create { model = %q, max_tokens = 8, temperature = 0.2,
          messages = { { role = "user", content = "Hi" } } })
        local pinned = anthropic.new { api_key = key, base_url = emu_url, api_version = "2026-10-21" }
        local _, err = pinned.messages:create { model = %q, max_tokens = 8, temperature = 0.2,
          messages = { { role = "user", content = "Hi" } } }
        print(c.messages and "sent", err.kind)
      ]], emu.url, key, MODEL, MODEL)
      local dir = util.tmpdir()
      local out, err, status = util.run_lua(code, { ANTHROPIC_API_VERSION = "2023-06-01" }, dir)
      assert.equal(0, status, err)
      assert.equal("sent\tconfig\n", out)
      assert.same({ "2023-06-01" }, sent_versions())
      out, err, status = util.run_lua([[
        local ok, e = pcall(require("anthropic").new, {})
        io.write(tostring(ok), " ", e.kind, " ", e.message)
      ]], { ANTHROPIC_API_VERSION = "2025-05-05" }, dir)
      util.rmdir(dir)
      assert.equal(0, status, err)
      assert.equal('false config anthropic.new: api_version "2025-05-05" is not an API version this library knows; '
        .. "use one of 2026-10-21, 2023-06-01 (or leave it out for 2026-10-21) (from ANTHROPIC_API_VERSION)", out)
    end)

    for _, case in ipairs(REFUSED) do
      it("under 2026-10-21 refuses " .. case[1] .. " before sending; under 2023-06-01 sends it", function()
        local c = client()
        local msg, err = c.messages:create(case[2])
        assert.is_nil(msg)
        assert.equal("config", err.kind)
        assert.matches("^messages:create: " .. case[3], err.message)
        assert.matches(', or pin api_version = "2023%-06%-01"$', err.message) -- the fix, both ways
        local s, serr = c.messages:stream(case[2])
        assert.is_nil(s)
        assert.equal("config", serr.kind)
        local batch, berr = c.batches:create { requests = { { custom_id = "fine", params = params() },
          { custom_id = "refused", params = case[2] } } }
        assert.is_nil(batch)
        assert.equal("config", berr.kind)
        assert.matches("^batches:create: requests%[2%]%.params: " .. case[3], berr.message)
        c:close()
        assert.same({}, sent_versions()) -- nothing went out
        local old = client("2023-06-01")
        assert(old.messages:create(case[2]))
        old:close()
        assert.same({ "2023-06-01" }, sent_versions())
      end)
    end

    it("refuses a count_tokens request with citations in a user message under 2026-10-21", function()
      local c = client()
      local n, err = c.messages:count_tokens { model = MODEL, messages = { { role = "user", content = { CITED } } } }
      c:close()
      assert.is_nil(n)
      assert.equal("config", err.kind)
      assert.matches("^messages:count_tokens: messages%[1%]%.content%[1%]: a text block with citations", err.message)
    end)

    it("keeps what 2026-10-21 still accepts: citations on assistant text, citation settings on documents", function()
      local c = client()
      local doc = { type = "document", citations = { enabled = true },
        source = { type = "text", media_type = "text/plain", data = "A memo." } }
      local cited_answer = { type = "text", text = "It says so.", citations = CITED.citations }
      assert(c.messages:create(params(nil, {
        { role = "user", content = { doc, { type = "text", text = "Summarise." } } },
        { role = "assistant", content = { cited_answer } },
        { role = "user", content = "Thanks." } })))
      c:close()
    end)
  end)

  describe("the emulator", function()
    local function post(path, body, version)
      return emu:api("POST", path, body, key, { ["anthropic-version"] = version })
    end

    it("answers 400 under 2026-10-21, as the API does, what 2023-06-01 accepts", function()
      local cases = {
        { params { temperature = 1.0 }, "temperature: Extra inputs are not permitted" },
        { params { top_k = 5, top_p = 0.5 }, "top_k: Extra inputs are not permitted" },
        { REFUSED[4][2], "messages.1.content.0: document blocks are not permitted in assistant messages" },
        { REFUSED[5][2], "messages.0.content.0.citations: citations are not permitted in user messages" },
        { REFUSED[6][2], "messages.0.content.0.content.1.citations: citations are not permitted in user messages" },
      }
      for _, case in ipairs(cases) do
        local res = assert(post("/v1/messages", case[1], "2026-10-21"))
        assert.equal(400, res.status)
        assert.equal("invalid_request_error", res.json.error.type)
        assert.equal(case[2], res.json.error.message)
        for _, old in ipairs { "2023-06-01", "2023-01-01" } do
          assert.equal(200, assert(post("/v1/messages", case[1], old)).status)
        end
      end
      local count = assert(post("/v1/messages/count_tokens", { model = MODEL, messages = REFUSED[5][2].messages },
        "2026-10-21"))
      assert.equal(400, count.status)
      assert.equal(200, assert(post("/v1/messages/count_tokens", { model = MODEL, messages = REFUSED[5][2].messages },
        "2023-06-01")).status)
    end)

    it("answers an unknown version with the API's error", function()
      for _, v in ipairs { "2023-10-01", "2023-06-01, 2023-06-01", "latest" } do
        local res = assert(post("/v1/messages", params(), v))
        assert.equal(400, res.status)
        assert.equal("invalid_request_error", res.json.error.type)
        assert.equal(string.format('anthropic-version: "%s" is not a valid version', v), res.json.error.message)
      end
    end)

    it("judges each request of a batch by the version the batch was created with", function()
      local body = { requests = { { custom_id = "plain", params = params() },
        { custom_id = "sampled", params = params { temperature = 0.3 } } } }
      local outcomes = {}
      for _, v in ipairs { "2026-10-21", "2023-06-01" } do
        local res = assert(post("/v1/messages/batches", body, v))
        assert.equal(200, res.status)
        outcomes[v] = res.json.id
      end
      emu:clock { advance = 3600 }
      for v, id in pairs(outcomes) do
        local res = assert(emu:api("GET", "/v1/messages/batches/" .. id .. "/results", nil, key,
          { ["anthropic-version"] = "2023-06-01" }))
        assert.equal(200, res.status)
        local types = {}
        for line in res.body:gmatch("[^\n]+") do
          local r = require("anthropic.json").decode(line)
          types[r.custom_id] = r.result.type
          if r.result.type == "errored" then
            assert.equal("temperature: Extra inputs are not permitted", r.result.error.error.message)
          end
        end
        assert.same(v == "2026-10-21" and { plain = "succeeded", sampled = "errored" }
          or { plain = "succeeded", sampled = "succeeded" }, types, v)
      end
    end)
  end)

  describe("the CLI", function()
    it("takes --api-version anywhere before --, and refuses an unknown one", function()
      local env = { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = emu.url }
      local out, err, status = util.run({ "lua5.4", "bin/anthropic", "--api-version", "2023-06-01", "messages",
        "--max-tokens", "8", "--model", MODEL, "Hi" }, env)
      assert.equal(0, status, err)
      assert.is_true(#out > 0)
      out, err, status = util.run({ "lua5.4", "bin/anthropic", "messages", "--model", MODEL, "Hi",
        "--api-version=2026-10-21" }, env)
      assert.equal(0, status, err)
      assert.is_true(#out > 0)
      assert.same({ "2023-06-01", "2026-10-21" }, sent_versions())
      out, err, status = util.run({ "lua5.4", "bin/anthropic", "--api-version", "2019-01-01", "messages", "Hi" }, env)
      assert.equal(2, status)
      assert.equal("", out)
      assert.equal('anthropic: --api-version: api_version "2019-01-01" is not an API version this library knows; '
        .. "use one of 2026-10-21, 2023-06-01 (or leave it out for 2026-10-21)\n", err)
      util.assert_no_leak(out .. err, key, "the CLI's output")
    end)
  end)
end)
