-- The Messages request fields of December 2026 (the SDK's MessageCreateParams and
-- MessageCountTokensParams, @anthropic-ai/sdk 1.16.0): speed, diagnostics, inference_geo,
-- service_tier, thinking, role "system" messages, max_tokens = 0; the answers they give (usage
-- echoing them, thinking blocks in answers and streams), and the anthropic-workspace-id header.
-- The emulator over raw HTTP under both API versions, then the client.
local anthropic = require "anthropic"
local helper = require "helpers.emulator"
local util = require "helpers.util"
local cjson = require "cjson"
local json = require "anthropic.json"
local deprecations = require "anthropic.deprecations"

local MODEL = "claude-opus-4-8" -- takes every field here (system messages: Opus 4.8 and later)
local OLD = "claude-haiku-4-5" -- before Claude 4.6: no adaptive thinking, no inference_geo
local VERSIONS = { "2023-06-01", "2026-10-21" }

local function body(text, extra)
  local b = { model = MODEL, max_tokens = 2048, messages = { { role = "user", content = text } } }
  for k, v in pairs(extra or {}) do b[k] = v end
  return b
end

local function with_system(model)
  return { model = model or MODEL, max_tokens = 64, messages = {
    { role = "user", content = "Hello" },
    { role = "system", content = "Answer in one word from now on." } } }
end

describe("Messages fields of December 2026", function()
  local server, key

  lazy_setup(function()
    key = helper.make_key("api03")
    server = helper.start { keys = { key } }
  end)
  lazy_teardown(function()
    if server then server:stop() end
  end)
  before_each(function() server:reset() end)

  for _, version in ipairs(VERSIONS) do
    describe("the emulator under " .. version, function()
      local function post(b, path)
        return server:api("POST", path or "/v1/messages", b, key, { ["anthropic-version"] = version })
      end

      local function refused(b, pattern, path)
        local res = post(b, path)
        assert.equal(400, res.status, cjson.encode(b))
        assert.equal("invalid_request_error", res.json.error.type)
        assert.matches(pattern, res.json.error.message)
      end

      it("accepts service_tier auto and standard_only, and refuses anything else in the API's words", function()
        for _, tier in ipairs({ "auto", "standard_only" }) do
          local res = post(body("Hi", { service_tier = tier }))
          assert.equal(200, res.status)
          assert.equal("standard", res.json.usage.service_tier) -- (no priority capacity here)
        end
        refused(body("Hi", { service_tier = "priority" }), "^service_tier: Input should be 'auto' or 'standard_only'$")
        refused(body("Hi", { service_tier = 1 }), "^service_tier: Input should be 'auto' or 'standard_only'$")
      end)

      it("echoes speed and inference_geo in usage, with the defaults when they are not sent", function()
        local plain = post(body("Hi")).json.usage
        assert.equal("standard", plain.speed)
        assert.equal("global", plain.inference_geo)
        local u = post(body("Hi", { speed = "fast", inference_geo = "us" })).json.usage
        assert.equal("fast", u.speed)
        assert.equal("us", u.inference_geo)
        -- and the usage report has it: served traffic with its geo (priced 1.1x on 4.6+ models)
        local records = server:usage()
        assert.equal("global", records[1].inference_geo)
        assert.equal("us", records[2].inference_geo)
        assert.equal(200, post(body("Hi", { speed = cjson.null, inference_geo = cjson.null })).status)
        refused(body("Hi", { speed = "turbo" }), "^speed: Input should be 'standard' or 'fast'$")
        refused(body("Hi", { inference_geo = 7 }), "^inference_geo: Input should be a valid string$")
        refused(body("Hi", { inference_geo = "mars" }), "^inference_geo: \"mars\" is not a supported")
        refused(body("Hi", { model = OLD, inference_geo = "us" }), "^inference_geo: is not supported on claude%-haiku")
      end)

      it("takes diagnostics and answers them", function()
        local none = post(body("Hi")).json
        assert.equal(cjson.null, none.diagnostics)
        local first = post(body("Hi", { diagnostics = { previous_message_id = cjson.null } })).json
        assert.same({ cache_miss_reason = cjson.null }, first.diagnostics)
        local again = post(body("Hi", { diagnostics = { previous_message_id = first.id } })).json
        assert.equal("string", type(again.diagnostics.cache_miss_reason.type))
        refused(body("Hi", { diagnostics = "yes" }), "^diagnostics: Input should be a valid dictionary$")
        refused(body("Hi", { diagnostics = { why = true } }), "^diagnostics%.why: Extra inputs are not permitted$")
        refused(body("Hi", { diagnostics = { previous_message_id = 5 } }),
          "previous_message_id: Input should be a valid string")
      end)

      it("checks thinking as the API does: types, budget_tokens >= 1024 and below max_tokens", function()
        for _, th in ipairs({ { type = "enabled", budget_tokens = 1024 }, { type = "disabled" },
                              { type = "adaptive" }, { type = "adaptive", display = "omitted" },
                              { type = "enabled", budget_tokens = 1500, display = "summarized" } }) do
          assert.equal(200, post(body("Hi", { thinking = th })).status, cjson.encode(th))
        end
        refused(body("Hi", { thinking = { type = "enabled", budget_tokens = 1023 } }),
          "^thinking%.enabled%.budget_tokens: Input should be greater than or equal to 1024$")
        refused(body("Hi", { thinking = { type = "enabled" } }), "^thinking%.enabled%.budget_tokens: Field required$")
        refused(body("Hi", { thinking = { type = "enabled", budget_tokens = 2048 } }),
          "^`max_tokens` must be greater than `thinking%.budget_tokens`")
        refused(body("Hi", { thinking = { type = "sometimes" } }), "^thinking%.type: Input should be")
        refused(body("Hi", { thinking = { type = "disabled", budget_tokens = 1024 } }),
          "^thinking%.disabled%.budget_tokens: Extra inputs are not permitted$")
        refused(body("Hi", { thinking = { type = "adaptive", display = "full" } }),
          "^thinking%.adaptive%.display: Input should be 'summarized' or 'omitted'$")
        refused(body("Hi", { model = OLD, thinking = { type = "adaptive" } }),
          "^thinking%.type: 'adaptive' is not supported on claude%-haiku%-4%-5")
        -- what thinking does not go with
        local tool = { name = "t", input_schema = { type = "object" } }
        refused(body("Hi", { thinking = { type = "adaptive" }, tools = { tool }, tool_choice = { type = "any" } }),
          "^Thinking may not be enabled when tool_choice forces tool use%.$")
        assert.equal(200, post(body("Hi", { thinking = { type = "adaptive" }, tools = { tool },
          tool_choice = { type = "auto" } })).status)
        if version == "2023-06-01" then -- (under 2026-10-21 the sampling parameters are gone altogether)
          refused(body("Hi", { thinking = { type = "adaptive" }, temperature = 0.5 }),
            "^`temperature` may only be set to 1 when thinking is enabled")
          refused(body("Hi", { thinking = { type = "adaptive" }, top_k = 5 }), "^`top_k` must be unset")
          local sampled = body("Hi", { thinking = { type = "adaptive" }, temperature = 1, top_p = 0.95 })
          assert.equal(200, post(sampled).status)
          assert.equal(200, post(body("Hi", { thinking = { type = "disabled" }, temperature = 0.2 })).status)
        end
        -- count_tokens has no max_tokens to compare with, but the budget's minimum holds
        local count = { model = MODEL, messages = { { role = "user", content = "Hi" } },
                        thinking = { type = "enabled", budget_tokens = 4096 }, speed = "fast" }
        assert.equal(200, post(count, "/v1/messages/count_tokens").status)
        count.thinking.budget_tokens = 10
        refused(count, "budget_tokens: Input should be greater than or equal to 1024", "/v1/messages/count_tokens")
      end)

      it("answers a thinking block with its signature before the text when thinking is on", function()
        local off = post(body("Think about it")).json
        assert.equal("text", off.content[1].type)
        assert.equal(cjson.null, off.usage.output_tokens_details)
        for _, th in ipairs({ { type = "enabled", budget_tokens = 1024 }, { type = "adaptive" } }) do
          local m = post(body("Think about it", { thinking = th })).json
          assert.equal(2, #m.content)
          local t = m.content[1]
          assert.equal("thinking", t.type)
          assert.is_true(#t.thinking > 0)
          assert.is_true(#t.signature > 0)
          assert.same({ type = "text", text = "You said: Think about it", citations = cjson.null }, m.content[2])
          local thinking_tokens = m.usage.output_tokens_details.thinking_tokens
          assert.is_true(thinking_tokens > 0)
          assert.equal(off.usage.output_tokens + thinking_tokens, m.usage.output_tokens)
        end
        local disabled = post(body("Think about it", { thinking = { type = "disabled" } })).json
        assert.equal(1, #disabled.content)
        local omitted = post(body("Think about it", { thinking = { type = "adaptive", display = "omitted" } })).json
        assert.equal("", omitted.content[1].thinking)
        assert.is_true(#omitted.content[1].signature > 0)
      end)

      it("streams thinking as thinking_delta events, then a signature_delta before the block stops", function()
        local b = body("Think in a stream", { thinking = { type = "enabled", budget_tokens = 1024 } })
        local plain = post(b).json
        b.stream = true
        local events = helper.parse_sse(post(b).body)
        local start, thinking, signature, last_delta
        for i, e in ipairs(events) do
          local d = e.data
          if e.event == "content_block_start" and d.index == 0 then start = d.content_block end
          if e.event == "content_block_delta" and d.index == 0 then
            if d.delta.type == "thinking_delta" then
              assert.is_nil(signature) -- the signature comes last
              thinking = (thinking or "") .. d.delta.thinking
            else
              assert.equal("signature_delta", d.delta.type)
              signature, last_delta = d.delta.signature, i
            end
          end
          if e.event == "content_block_stop" and d.index == 0 then assert.equal(last_delta + 1, i) end
        end
        assert.same({ type = "thinking", thinking = "", signature = "" }, start)
        assert.equal(plain.content[1].thinking, thinking)
        assert.equal(plain.content[1].signature, signature)
        assert.equal(plain.usage.output_tokens, events[#events - 1].data.usage.output_tokens)
        assert.same(plain.usage.output_tokens_details, events[#events - 1].data.usage.output_tokens_details)
      end)

      it("takes max_tokens = 0 to pre-warm the cache: no content, the input counted", function()
        local res = post(body("Warm the cache with this prompt", { max_tokens = 0 }))
        assert.equal(200, res.status)
        local m = res.json
        assert.same({}, m.content)
        assert.equal("max_tokens", m.stop_reason)
        assert.equal(0, m.usage.output_tokens)
        local counted = post({ model = MODEL,
                               messages = { { role = "user", content = "Warm the cache with this prompt" } } },
          "/v1/messages/count_tokens").json
        assert.equal(counted.input_tokens, m.usage.input_tokens)
        local stream = body("Warm", { max_tokens = 0, stream = true })
        local events = helper.parse_sse(post(stream).body)
        assert.equal("message_stop", events[#events].event)
        for _, e in ipairs(events) do assert.not_equal("content_block_start", e.event) end
        refused(body("x", { max_tokens = -1 }), "^max_tokens: Input should be greater than or equal to 0$")
        -- thinking needs room: a budget is always below max_tokens
        refused(body("x", { max_tokens = 0, thinking = { type = "enabled", budget_tokens = 1024 } }), "max_tokens")
      end)

      it("takes role system messages where the API allows them", function()
        local res = post(with_system())
        assert.equal(200, res.status)
        assert.equal("You said: Hello", res.json.content[1].text)
        local followed = with_system()
        followed.messages[3] = { role = "assistant", content = "Sure." }
        followed.messages[4] = { role = "user", content = "Now?" }
        assert.equal(200, post(followed).status)
        local blocks = with_system()
        blocks.messages[2].content = { { type = "text", text = "Be brief." } }
        assert.equal(200, post(blocks).status)
        local count = { model = MODEL, messages = with_system().messages }
        assert.equal(200, post(count, "/v1/messages/count_tokens").status)

        refused({ model = MODEL, max_tokens = 8, messages = { { role = "system", content = "x" },
          { role = "user", content = "Hi" } } }, "first message must use the \"user\" role")
        local two = with_system()
        two.messages[3] = { role = "system", content = "More." }
        refused(two, "^messages%.1: consecutive system messages are not permitted$")
        local after_assistant = { model = MODEL, max_tokens = 8, messages = { { role = "user", content = "Hi" },
          { role = "assistant", content = "Hello" }, { role = "system", content = "x" } } }
        refused(after_assistant, "^messages%.2: a system message must follow a user message")
        local then_user = with_system()
        then_user.messages[3] = { role = "user", content = "Again" }
        refused(then_user, "^messages%.1: a system message must be the last message or be followed by an assistant")
        local image = with_system()
        image.messages[2].content = { { type = "image", source = { type = "url", url = "https://example.com/a.png" } } }
        refused(image, "^messages%.1%.content%.0: system messages may contain only text blocks$")
        refused(with_system(OLD), "^messages%.1%.role: system messages are not supported on claude%-haiku%-4%-5")
        refused(with_system("claude-sonnet-5"), "not supported on claude%-sonnet%-5")
        refused({ model = MODEL, max_tokens = 8, messages = { { role = "robot", content = "x" } } },
          "^messages%.0%.role: Input should be 'user', 'assistant' or 'system'$")
      end)

      it("still refuses fields the SDK's types do not have, and header params sent in the body", function()
        refused(body("Hi", { colour = "blue" }), "^colour: Extra inputs are not permitted$")
        refused(body("Hi", { workspace_id = "wrkspc_01x" }), "^workspace_id: Extra inputs are not permitted$")
        refused(body("Hi", { user_profile_id = "up_01" }), "^user_profile_id: Extra inputs are not permitted$")
        refused({ model = MODEL, messages = { { role = "user", content = "Hi" } }, service_tier = "auto" },
          "^service_tier: Extra inputs are not permitted$", "/v1/messages/count_tokens")
      end)

      it("answers anthropic-workspace-id for a workspace key, on answers and errors, not the default one", function()
        local made = server:create_api_keys { name = "ws-key", workspace_id = "Staging" }
        local ws_key, ws = made.keys[1], made.data[1].workspace_id
        assert.matches("^wrkspc_", ws)
        local h = { ["anthropic-version"] = version }
        local ok = server:api("POST", "/v1/messages", body("Hi"), ws_key, h)
        assert.equal(200, ok.status)
        assert.equal(ws, ok.headers["anthropic-workspace-id"])
        local bad = server:api("POST", "/v1/messages", body("Hi", { service_tier = "x" }), ws_key, h)
        assert.equal(400, bad.status)
        assert.equal(ws, bad.headers["anthropic-workspace-id"])
        local streamed = server:api("POST", "/v1/messages", body("Hi", { stream = true }), ws_key, h)
        assert.equal(ws, streamed.headers["anthropic-workspace-id"])
        assert.is_nil(post(body("Hi")).headers["anthropic-workspace-id"])
      end)
    end)
  end

  for _, version in ipairs(VERSIONS) do
    describe("the client under " .. version, function()
      local client, logged
      before_each(function()
        logged = {}
        client = anthropic.new { api_key = key, base_url = server.url, api_version = version, max_retries = 0,
          log = function(level, msg) logged[#logged + 1] = { level, msg } end }
        deprecations.reset()
      end)
      after_each(function() client:close() end)

      local function sent() return #server:log().requests end

      local function refused_locally(call, pattern)
        local before = sent()
        local ok, err = call()
        assert.is_nil(ok)
        assert.equal("config", err.kind)
        assert.matches(pattern, err.message)
        assert.equal(before, sent()) -- nothing was sent
      end

      it("sends the fields of today and gets their usage back", function()
        local m = assert(client.messages:create(body("Hi", { service_tier = "standard_only", speed = "fast",
          inference_geo = "us", diagnostics = { previous_message_id = cjson.null } })))
        assert.equal("fast", m.usage.speed)
        assert.equal("us", m.usage.inference_geo)
        assert.equal("standard", m.usage.service_tier)
        assert.is_nil(m.diagnostics.cache_miss_reason) -- (null: the library's JSON reads it as absent)
        local sent_body = cjson.decode(server:log().requests[1].body)
        assert.equal("standard_only", sent_body.service_tier)
        assert.same({ previous_message_id = cjson.null }, sent_body.diagnostics)
      end)

      it("refuses service_tier, speed and thinking values the API answers with a 400, before sending", function()
        refused_locally(function() return client.messages:create(body("Hi", { service_tier = "priority" })) end,
          '^messages:create: service_tier must be one of "auto", "standard_only" %(got "priority"%)$')
        refused_locally(function() return client.messages:stream(body("Hi", { speed = "turbo" })) end,
          '^messages:stream: speed must be one of "standard", "fast"')
        refused_locally(function() return client.messages:create(body("Hi", { thinking = { type = "enabled",
          budget_tokens = 1000 } })) end, "thinking%.budget_tokens must be a whole number of at least 1024")
        refused_locally(function() return client.messages:create(body("Hi", { max_tokens = 2000,
          thinking = { type = "enabled", budget_tokens = 2000 } })) end,
          "thinking%.budget_tokens %(2000%) must be less than max_tokens %(2000%)")
        refused_locally(function() return client.messages:create(body("Hi", { thinking = { type = "often" } })) end,
          'thinking%.type must be one of "enabled", "disabled", "adaptive", "between_tools"')
        refused_locally(function() return client.messages:count_tokens { model = MODEL,
          messages = { { role = "user", content = "Hi" } },
          thinking = { type = "disabled", budget_tokens = 2048 } } end,
          "thinking%.budget_tokens is only for type \"enabled\"")
        refused_locally(function() return client.batches:create { requests = { { custom_id = "a",
          params = body("Hi", { service_tier = "fast" }) } } } end,
          "^batches:create: requests%[1%]%.params: service_tier")
        -- count_tokens has no max_tokens: any budget from 1024 up
        assert(client.messages:count_tokens { model = MODEL, messages = { { role = "user", content = "Hi" } },
          thinking = { type = "enabled", budget_tokens = 50000 } })
      end)

      it("takes max_tokens = 0 (pre-warming the cache) and still refuses a negative one", function()
        local m = assert(client.messages:create(body("Warm this prompt", { max_tokens = 0 })))
        assert.same({}, m.content)
        assert.equal(0, m.usage.output_tokens)
        assert.is_true(m.usage.input_tokens > 0)
        local ok, e = pcall(client.messages.create, client.messages, body("x", { max_tokens = -1 }))
        assert.is_false(ok)
        assert.matches("max_tokens must be a whole number from 0 to", e)
      end)

      it("gives thinking blocks with their signatures, in the answer and in stream:final()", function()
        local p = body("Think first", { thinking = { type = "enabled", budget_tokens = 1024 } })
        local m = assert(client.messages:create(p))
        assert.equal("thinking", m.content[1].type)
        local s = assert(client.messages:stream(p))
        local final = assert(s:final())
        assert.same(m.content, final.content)
        assert.is_true(#final.content[1].signature > 0)
        assert.same(m.usage, final.usage)
      end)

      it("sends role system messages", function()
        local m = assert(client.messages:create(with_system()))
        assert.equal("You said: Hello", m.content[1].text)
        local _, err = client.messages:create(with_system(OLD))
        assert.equal("api", err.kind)
        assert.equal(400, err.status)
        assert.matches("system messages are not supported on claude%-haiku%-4%-5", err.message)
      end)

      it("sends workspace_id and user_profile_id as the SDK does: headers, not body fields", function()
        assert(client.messages:create(body("Hi", { workspace_id = "wrkspc_01abc", user_profile_id = "uprof_01x" })))
        local entry = server:log().requests[1]
        assert.equal("wrkspc_01abc", entry.headers["anthropic-workspace-id"])
        assert.equal("uprof_01x", entry.headers["anthropic-user-profile-id"])
        local sent_body = cjson.decode(entry.body)
        assert.is_nil(sent_body.workspace_id)
        assert.is_nil(sent_body.user_profile_id)
        assert.equal(MODEL, sent_body.model)
        refused_locally(function() return client.messages:create(body("Hi", { workspace_id = "a\r\nx-evil: 1" })) end,
          "workspace_id must be an id")
        local _, err = client.messages:create(body("Hi", { user_profile_id = key .. " " }))
        assert.equal("config", err.kind)
        util.assert_no_leak(err.message, key, "a bad header param's error")
      end)

      it("exposes request-id and anthropic-workspace-id on answers, errors and streams", function()
        local made = server:create_api_keys { name = "ws-client", workspace_id = "Staging" }
        local ws = made.data[1].workspace_id
        local c = anthropic.new { api_key = made.keys[1], base_url = server.url, api_version = version,
                                  max_retries = 0 }
        local m = assert(c.messages:create(body("Hi")))
        assert.equal(ws, m._workspace_id)
        assert.matches("^req_", m._request_id)
        assert.is_nil(json.decode(json.encode(m))._request_id) -- not part of the answer's JSON
        for k in pairs(m) do assert.not_equal("_workspace_id", k) end
        local _, err = c.messages:create(body("Hi", { inference_geo = "mars" }))
        assert.equal(400, err.status)
        assert.equal(ws, err.workspace_id)
        local s = assert(c.messages:stream(body("Hi")))
        assert.equal(ws, s.workspace_id)
        assert(s:final())
        local n = assert(c.messages:count_tokens { model = MODEL, messages = { { role = "user", content = "Hi" } } })
        assert.equal(ws, n._workspace_id)
        c:close()
        -- a key of the default workspace: no header, so nil
        local d = assert(client.messages:create(body("Hi")))
        assert.is_nil(d._workspace_id)
        assert.matches("^req_", d._request_id)
      end)

      it("warns once per model through log at level warn when a model is deprecated or retired", function()
        assert(client.messages:create(body("Hi", { model = "claude-opus-4-5" })))
        assert(client.messages:create(body("Hi", { model = "claude-opus-4-5" })))
        assert(client.messages:count_tokens { model = "claude-opus-4-5",
                                              messages = { { role = "user", content = "x" } } })
        local warns = {}
        for _, l in ipairs(logged) do
          if l[1] == "warn" then warns[#warns + 1] = l[2] end
        end
        assert.same({ "the model claude-opus-4-5 is deprecated and retires on 2027-01-22; move to claude-opus-5-5 "
          .. "before then (https://docs.claude.com/en/docs/about-claude/model-deprecations)" }, warns)
        -- a retired model: the warning says so; the API's 404 follows
        local _, err = client.messages:create(body("Hi", { model = "claude-sonnet-4-5" }))
        assert.equal(404, err.status)
        assert.matches("^the model claude%-sonnet%-4%-5 was retired on 2026%-11%-30 and the API no longer serves it; "
          .. "use claude%-sonnet%-4%-6 instead", logged[#logged - 1][2] or "")
        -- once per process: another client with a log is not told again
        local again = {}
        local c2 = anthropic.new { api_key = key, base_url = server.url, api_version = version,
          log = function(level, msg) again[#again + 1] = level .. " " .. msg end }
        assert(c2.messages:create(body("Hi", { model = "claude-opus-4-5" })))
        for _, line in ipairs(again) do assert.not_matches("deprecated", line) end
        c2:close()
        -- each request of a batch too
        assert(client.batches:create { requests = { { custom_id = "old", params = body("Hi",
          { model = "claude-opus-4-5-20251101" }) } } })
        assert.matches("^the model claude%-opus%-4%-5%-20251101 is deprecated", logged[#logged - 1][2])
        -- thinking = enabled where the SDK says adaptive instead, once per model
        local n = #logged
        local p = body("Hi", { model = "claude-opus-4-6", thinking = { type = "enabled", budget_tokens = 1024 } })
        assert(client.messages:create(p))
        assert(client.messages:create(p))
        local thinking_warns = {}
        for i = n + 1, #logged do
          if logged[i][1] == "warn" then thinking_warns[#thinking_warns + 1] = logged[i][2] end
        end
        assert.same({ 'thinking = { type = "enabled" } is deprecated on claude-opus-4-6; use thinking = '
          .. '{ type = "adaptive" }, which performs better '
          .. "(https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking)" }, thinking_warns)
        -- a current model: no warning
        local before = #logged
        assert(client.messages:create(body("Hi")))
        for i = before + 1, #logged do assert.not_equal("warn", logged[i][1]) end
      end)

      it("the CLI prints the deprecation warning on standard error, never on standard output", function()
        local env = { ANTHROPIC_API_KEY = key, ANTHROPIC_BASE_URL = server.url }
        local out, err, status = util.run({ "lua5.4", "bin/anthropic", "--api-version", version, "messages",
          "--max-tokens", "16", "--model", "claude-opus-4-5", "Hi" }, env)
        assert.equal(0, status, err)
        assert.equal("You said: Hi\n", out)
        assert.matches("anthropic: warning: the model claude%-opus%-4%-5 is deprecated and retires on 2027%-01%-22",
          err)
        util.assert_no_leak(out .. err, key, "the CLI's output")
      end)
    end)
  end
end)
