-- The Messages request fields of December 2026 (the SDK's MessageCreateParams and
-- MessageCountTokensParams, @anthropic-ai/sdk 1.16.0): speed, diagnostics, inference_geo,
-- service_tier, thinking, role "system" messages, max_tokens = 0; the answers they give (usage
-- echoing them, thinking blocks in answers and streams), and the anthropic-workspace-id header.
-- The emulator over raw HTTP under both API versions, then the client.
local anthropic = require "anthropic"
local helper = require "helpers.emulator"
local cjson = require "cjson"

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
        refused(body("Hi", { diagnostics = { previous_message_id = 5 } }), "previous_message_id: Input should be a valid string")
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
        local counted = post({ model = MODEL, messages = { { role = "user", content = "Warm the cache with this prompt" } } },
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
        assert.equal(200, post({ model = MODEL, messages = with_system().messages }, "/v1/messages/count_tokens").status)

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

      it("answers anthropic-workspace-id for a workspace's key, on answers and errors, not for the default workspace", function()
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
end)
