--- Token-aware pacing (the rate_limit option): one limiter per client, shared by all its tasks,
-- with a token bucket per limit (requests, input tokens, output tokens per minute) that refills
-- continuously, limit/60 per second, as the API's do. See docs/rate-limits.md.
--
-- The API's limits are per model group (ratelimits.FAMILIES: Opus 4.5 to 4.8 share one, Opus 5
-- has its own, ...), so the limiter keeps one set of buckets per group: a request is paced by its
-- model's group only, and pacing one group never holds back another. Token counting
-- ("token_count") and Message Batches creation ("batch") are groups of their own that count
-- requests only. Each group has its own queue, estimates and first-answer rule.
--
-- Before a Messages request is sent, acquire() reserves 1 request, the estimated input tokens
-- and the estimated output tokens, waiting (tasks.sleep: other tasks and the host loop go on)
-- until every bucket holds them. After the answer, settle() puts back what was reserved and
-- takes what the API counted instead: input_tokens + cache_creation_input_tokens for input (cache
-- reads are not counted, as the API does not count them), output_tokens for output. A request
-- answered with a 429 empties the bucket it names until the retry-after.
--
-- Estimates: input = the characters of the system prompt, the messages' text and the tools'
-- JSON divided by a ratio learned from the answers (the lowest characters-per-token seen, so the
-- estimate errs high; 2.5 before the first answer), plus 1,600 per image or document block;
-- output = max_tokens until
-- answers were seen, then the largest output of the last 32 answers (at most max_tokens).
--
-- Until the first answer's anthropic-ratelimit-* headers, one request is in flight at a time;
-- they give the buckets' capacity (the -limit header, when below the configured number: a
-- workspace limit, or an emulator whose clock runs faster) and their level (-remaining). With
-- "auto", the headers are the limits: every answer's -limit sets them (with an admin key, the
-- Admin API's limits for the model's group, lowered by the key's workspace's own, are the first
-- guess: transport seed_limits).
local compat = require "anthropic.compat"
local core = require "anthropic.core"
local errors = require "anthropic.error"
local ratelimits = require "anthropic.ratelimits"

local M = {}

local Limiter = {}
Limiter.__index = Limiter

local NAMES = { "rpm", "itpm", "otpm" }
local HEADER = { rpm = "requests", itpm = "input-tokens", otpm = "output-tokens" }
local WORDS = { rpm = "requests", itpm = "input tokens", otpm = "output tokens" }

M.FIRST_RATIO = 2.5 -- characters per token before any answer: errs high for English and code
M.PER_BLOCK = 1600  -- an image or a document, at most (the API's image estimate caps near it)
M.OUTPUTS_KEPT = 32

--- -> limiter for a rate_limit value (checked by ratelimits.SPEC)
function M.new(value)
  local limits = ratelimits.limits(value)
  return setmetatable({ value = value, auto = limits.auto, count_tokens = limits.count_tokens, groups = {},
    models = {}, stats = { requests = 0, waits = 0, waited = 0, limited = 0 } }, Limiter)
end

-- The kinds of request that have limits of their own and count requests only.
local REQUESTS_ONLY = { token_count = true, batch = true }

--- The group a request is paced in: kind ("token_count", "batch") or its model's group (learned
-- from the Admin API's lists with an admin key, else ratelimits.group). -> key
function Limiter:group_key(params, kind)
  if kind then return kind end
  local model = type(params) == "table" and params.model or nil
  return self.models[model] or ratelimits.group(model)
end

-- A group's state, made with the configured numbers the first time:
-- { key, buckets = { rpm = { rate, cap, level, t, fixed } ... }, inflight, synced, queue,
--   paused_until, ratio, outputs, seeded }
local function new_group(self, key)
  local limits = ratelimits.limits(self.value, key)
  local g = { key = key, buckets = {}, inflight = 0, synced = false, queue = {}, outputs = {},
    requests_only = REQUESTS_ONLY[key] }
  local now = core.now()
  for _, n in ipairs(NAMES) do -- (with auto, the numbers given are kept; the others come from the headers)
    if limits[n] then
      g.buckets[n] = { rate = limits[n], cap = limits[n], level = limits[n], t = now, fixed = true }
    end
  end
  return g
end

--- The state of group `key` (made on first use).
function Limiter:group(key)
  local g = self.groups[key]
  if not g then
    g = new_group(self, key)
    self.groups[key] = g
  end
  return g
end

-- The refill counted a little below the limit: the two clocks (this process's and the API's)
-- and the time a request takes to arrive are not exact, and a request that arrives a moment too
-- early is a 429.
M.MARGIN = 0.98

local function refill(b, now)
  if now > b.t then
    b.level = math.min(b.cap, b.level + (now - b.t) * b.rate * M.MARGIN / 60)
    b.t = now
  end
end

-- Characters of what the API counts as the prompt, and the blocks that are not text.
local function measure(params)
  local chars, blocks = 0, 0
  local function text(s)
    if type(s) == "string" then chars = chars + (compat.utf8.len(s) or #s) end
  end
  local function content(c)
    if type(c) == "string" then return text(c) end
    if type(c) ~= "table" then return end
    for _, b in ipairs(c) do
      if type(b) == "table" then
        if b.type == "image" or b.type == "document" then
          blocks = blocks + 1
        else
          text(b.text)
          text(b.thinking)
          if b.input ~= nil then text(require("anthropic.json").encode(b.input) or "") end
          if b.content ~= nil then content(b.content) end
        end
      end
    end
  end
  content(params.system)
  for _, m in ipairs(type(params.messages) == "table" and params.messages or {}) do
    if type(m) == "table" then content(m.content) end
  end
  for _, t in ipairs(type(params.tools) == "table" and params.tools or {}) do
    text(require("anthropic.json").encode(t) or "")
  end
  return chars, blocks
end

--- The estimated input and output tokens of a Messages request (its group's ratio and outputs).
-- -> input, output, chars
function Limiter:estimate(params, g)
  g = g or self:group(self:group_key(params))
  local chars, blocks = measure(params)
  local input = math.ceil(chars / (g.ratio or M.FIRST_RATIO)) + blocks * M.PER_BLOCK
  local max_tokens = type(params.max_tokens) == "number" and params.max_tokens or 4096
  local output = max_tokens
  if #g.outputs > 0 then
    local most = 0
    for _, n in ipairs(g.outputs) do most = math.max(most, n) end
    output = math.min(max_tokens, most)
  end
  return math.max(1, input), output, chars
end

--- Reserves a Messages request's share (params: its body), waiting as long as needed.
-- Requests wait in the order they came (a large one is never overtaken for ever by small
-- ones): the first takes its share once every bucket holds it; the others sleep until the
-- refill will have covered the shares before theirs and their own, then look again
-- (tasks.sleep: the other tasks and the host loop run meanwhile). A share is never taken ahead:
-- the API's buckets stop filling at their size, so tokens promised to sleeping requests would
-- not be there.
-- kind: nil for Messages, or "token_count" / "batch" (one request of that group, no tokens).
-- -> reservation | nil, err (kind config: a request larger than a whole bucket; nothing is sent)
function Limiter:acquire(params, input_count, kind)
  local g = self:group(self:group_key(params, kind))
  local need, chars
  if g.requests_only then
    need, chars = { rpm = 1, itpm = 0, otpm = 0 }, 0
  else
    local input, output
    input, output, chars = self:estimate(params, g)
    if input_count then input = input_count end
    need = { rpm = 1, itpm = input, otpm = math.max(1, output) }
  end
  self.last = g.key
  for n, b in pairs(g.buckets) do
    if need[n] > b.cap then
      return nil, errors.new { kind = "config", message = string.format("rate_limit: the request's estimated %d "
        .. "%s are more than the %s per minute allowed (%d); nothing was sent. Send less in one request, or "
        .. "raise rate_limit.%s", need[n], WORDS[n], WORDS[n], math.floor(b.cap), n) }
    end
  end
  -- until the first headers (the buckets' true size and level), one request at a time (looked
  -- at every 10 ms: the scheduler wakes a task for a timer or the engine, not for Lua state)
  while not g.synced and g.inflight > 0 do
    self.stats.waits = self.stats.waits + 1
    require("anthropic.tasks").sleep(0.01)
  end
  local queue = g.queue
  queue[#queue + 1] = need
  local waited = false
  while true do
    local now = core.now()
    local wait, ahead = 0, {}
    for _, q in ipairs(queue) do
      if q == need then break end
      for n in pairs(g.buckets) do ahead[n] = (ahead[n] or 0) + q[n] end
    end
    for n, b in pairs(g.buckets) do
      refill(b, now)
      local deficit = (ahead[n] or 0) + need[n] - b.level
      if deficit > 0 then wait = math.max(wait, deficit * 60 / (b.rate * M.MARGIN)) end
    end
    if g.paused_until and g.paused_until > now then wait = math.max(wait, g.paused_until - now) end
    if wait <= 0 and queue[1] == need then
      table.remove(queue, 1)
      for n, b in pairs(g.buckets) do b.level = b.level - need[n] end
      break
    end
    if not waited then self.stats.waits = self.stats.waits + 1 end
    waited = true
    wait = math.max(wait, 0.001)
    self.stats.waited = self.stats.waited + wait
    require("anthropic.tasks").sleep(wait)
  end
  g.inflight = g.inflight + 1
  self.stats.requests = self.stats.requests + 1
  return { input = need.itpm, output = need.otpm, chars = chars, group = g,
    model = type(params) == "table" and params.model or nil }
end

-- The headers of an answer: limits (auto, or a capacity below the configured one) and, the
-- first time, the levels.
local function observe(self, g, header)
  local now = core.now()
  for _, n in ipairs(g.requests_only and { "rpm" } or NAMES) do
    local limit = tonumber(header("anthropic-ratelimit-" .. HEADER[n] .. "-limit") or "")
    local left = tonumber(header("anthropic-ratelimit-" .. HEADER[n] .. "-remaining") or "")
    if limit and limit > 0 then
      local b = g.buckets[n]
      if not b and self.auto then
        b = { rate = limit, cap = limit, level = left or limit, t = now }
        g.buckets[n] = b
      elseif b then
        refill(b, now)
        if self.auto and not b.fixed then b.rate = limit end
        b.cap = math.min(b.rate, limit)
        b.level = math.min(b.level, b.cap)
        if not g.synced and left then b.level = math.min(b.level, left) end
      end
    end
  end
  -- (an answer without these headers, from a gateway, say: the numbers given are all there is)
  g.synced = true
end

--- After the answer: usage (nil when there is none: an error, a stream cut short), status, and
-- header(name) of the answer (nil when there was no answer).
function Limiter:settle(res, usage, status, header, retry_after)
  if not res or res.settled then return end
  res.settled = true
  local g = res.group
  g.inflight = math.max(0, g.inflight - 1)
  local now = core.now()
  local function put(n, amount)
    local b = g.buckets[n]
    if b then
      refill(b, now)
      b.level = math.min(b.cap, b.level + amount)
    end
  end
  if type(usage) == "table" and not g.requests_only then
    local function n(v) return type(v) == "number" and v or 0 end
    local counted = n(usage.input_tokens) + n(usage.cache_creation_input_tokens)
    put("itpm", res.input - counted)
    put("otpm", res.output - n(usage.output_tokens))
    local seen = counted + n(usage.cache_read_input_tokens)
    if seen > 0 and res.chars > 0 then
      local r = res.chars / seen
      if not g.ratio or r < g.ratio then g.ratio = r end
    end
    local outs = g.outputs
    outs[#outs + 1] = n(usage.output_tokens)
    if #outs > M.OUTPUTS_KEPT then table.remove(outs, 1) end
  elseif status == 429 or not status then
    -- refused before it ran (or no answer): nothing was counted
    put("rpm", 1)
    put("itpm", res.input)
    put("otpm", res.output)
  else
    put("otpm", res.output) -- an error answer generates nothing
  end
  if status == 429 then
    self.stats.limited = self.stats.limited + 1
    g.paused_until = now + (retry_after or 1)
  end
  if header then
    observe(self, g, header)
  elseif status then
    g.synced = true
  end
end

local LIMIT_TYPES = { requests_per_minute = "rpm", input_tokens_per_minute = "itpm",
  output_tokens_per_minute = "otpm" }

--- With "auto": the limits the Admin API gives for group `key` ({ { type =, value = } }: the
-- organization's, each lowered by the workspace's own), as the buckets' size until the headers
-- say otherwise; models: the group's models (its list in the Admin API), paced in it from now on.
function Limiter:seed(limits, key, models)
  local g = self:group(key)
  local now = core.now()
  for _, l in ipairs(limits) do
    local n = LIMIT_TYPES[l.type]
    if n and compat.is_integer(l.value) and l.value > 0 and not (g.buckets[n] and g.buckets[n].fixed)
      and not (g.requests_only and n ~= "rpm") then
      local b = g.buckets[n]
      if b then
        b.rate, b.cap, b.level = math.min(b.rate, l.value), math.min(b.cap, l.value), math.min(b.level, l.value)
      else
        g.buckets[n] = { rate = l.value, cap = l.value, level = l.value, t = now }
      end
    end
  end
  for _, m in ipairs(type(models) == "table" and models or {}) do
    if type(m) == "string" then self.models[m] = key end
  end
  g.seeded = true
end

--- The headers of a stream's answer, read when it starts (settle comes at its end).
function Limiter:headers(header, res)
  observe(self, res and res.group or self:group(self.last or ratelimits.group(nil)), header)
end

local function buckets_of(g, now)
  local out = {}
  for n, b in pairs(g.buckets) do
    refill(b, now)
    out[n] = { limit = b.rate, capacity = b.cap, level = math.floor(b.level) }
  end
  return out
end

--- { requests, waits, waited (seconds), limited (429s seen), ratio, inflight, paused_until,
-- buckets = { rpm = { limit, capacity, level }, ... }, groups = { [key] = { buckets, ratio,
-- inflight } } }: ratio, inflight, paused_until and buckets are those of `model`'s group (a model
-- or a group key such as "token_count"), else of the group used last, else the configured numbers.
function Limiter:report(model)
  local out = { requests = self.stats.requests, waits = self.stats.waits, waited = self.stats.waited,
    limited = self.stats.limited, groups = {} }
  local now = core.now()
  for key, g in pairs(self.groups) do
    out.groups[key] = { buckets = buckets_of(g, now), ratio = g.ratio, inflight = g.inflight }
  end
  local key = model and (REQUESTS_ONLY[model] and model or self:group_key({ model = model })) or self.last
  local g = key and self.groups[key] or new_group(self, key or ratelimits.group(nil))
  out.buckets, out.ratio, out.inflight, out.paused_until = buckets_of(g, now), g.ratio, g.inflight, g.paused_until
  return out
end

return M
