-- `make bench` (and `make bench-pacing` alone): token-aware pacing against the emulator's rate
-- limits. 64 tasks send a mix of prompt sizes for the equivalent of 5 minutes of the emulator's
-- clock (its buckets run BENCH_PACING_SPEED times faster, default 30: 10 s of real time), once
-- with rate_limit set to the emulator's limits, once without (the engine retrying each 429 after
-- its retry-after). It prints the figures, and writes them into docs/performance.md between
-- <!-- pacing:begin --> and <!-- pacing:end --> when given a path to it.
--   lua5.4 bench/pacing.lua [docs/performance.md]
package.path = "./lua/?.lua;./lua/?/init.lua;./spec/?.lua;./bench/?.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath

local common = require "common"
local emulator = require "helpers.emulator"
local anthropic = require "anthropic"
local core = require "anthropic.core"

local SPEED = tonumber(os.getenv("BENCH_PACING_SPEED") or "") or 30
local MINUTES = tonumber(os.getenv("BENCH_PACING_MINUTES") or "") or 5
local TASKS = 64
-- Per emulator minute, per workspace (the emulator's clock runs SPEED times faster).
local LIMITS = { rpm = 1000, itpm = 30000, otpm = 8000 }
-- Prompt sizes in characters (the emulator counts 4 characters to a token): 50 to 3,000 tokens.
local SIZES = { 200, 800, 2000, 4000, 12000 }

local function run(paced, key, server)
  server:reset()
  server:ratelimit { rpm = LIMITS.rpm, itpm = LIMITS.itpm, otpm = LIMITS.otpm, speed = SPEED }
  local c = anthropic.new { api_key = key, base_url = server.url, max_retries = paced and 2 or 20,
    retry_after_cap = 60, rate_limit = paced and { rpm = LIMITS.rpm * SPEED, itpm = LIMITS.itpm * SPEED,
      otpm = LIMITS.otpm * SPEED } or nil }
  local seconds = MINUTES * 60 / SPEED
  local served, answers, failed = 0, 0, 0
  local t0 = core.now()
  local last = t0
  for i = 1, TASKS do
    anthropic.spawn(function()
      local k = 0
      while core.now() - t0 < seconds do
        k = k + 1
        local size = SIZES[(i * 7 + k) % #SIZES + 1]
        local m = c.messages:create { model = "claude-opus-4-6", max_tokens = 64,
          messages = { { role = "user", content = string.rep("lorem ", size // 6) } } }
        if m then
          answers = answers + 1
          served = served + m.usage.input_tokens
          last = core.now()
        else
          failed = failed + 1
        end
      end
    end)
  end
  anthropic.run()
  local elapsed = last - t0
  local st = server:ratelimit {}
  c:close()
  -- what the input-token bucket allowed over the run: a full bucket at the start, then the refill
  local allowed = LIMITS.itpm + LIMITS.itpm * SPEED / 60 * elapsed
  return { paced = paced, elapsed = elapsed, answers = answers, failed = failed, refused = st.refused,
    served = served, allowed = allowed, used = served / allowed }
end

local key = emulator.make_key("api03")
local server = emulator.start { keys = { key } }
local ok, results = pcall(function() return { run(true, key, server), run(false, key, server) } end)
server:stop()
if not ok then error(results, 0) end

local lines = {
  string.format("64 tasks, prompts of 50 to 3,000 input tokens (max_tokens 64), against the emulator's limits of "
    .. "%d requests, %d input tokens and %d output tokens per minute, its clock %d times the real one: the "
    .. "equivalent of %g minutes in %.0f s (the tasks start requests for that long; those waiting then "
    .. "are still served).", LIMITS.rpm, LIMITS.itpm, LIMITS.otpm, SPEED, MINUTES,
    MINUTES * 60 / SPEED),
  "",
  "| run | answers | 429s from the emulator | failed calls | input tokens served | seconds to the last answer "
    .. "| of the allowed input-token rate |",
  "|---|---|---|---|---|---|---|",
}
for _, r in ipairs(results) do
  lines[#lines + 1] = string.format("| %s | %d | %d | %d | %d | %.1f | %.1f %% |",
    r.paced and "`rate_limit` = the limits" or "no pacing (429s retried, `max_retries = 20`)", r.answers,
    r.refused, r.failed, r.served, r.elapsed, 100 * r.used)
end
local text = table.concat(lines, "\n") .. "\n"
io.write(text)

local paced = results[1]
local verdict = paced.refused == 0 and paced.used >= 0.9
io.stderr:write(string.format("bench pacing: %s (paced: %d 429s, %.1f %% of the allowed input-token rate)\n",
  verdict and "target met" or "TARGET MISSED", paced.refused, 100 * paced.used))

local doc = arg[1]
if doc then
  common.rewrite_section(doc, "pacing", "Measured " .. os.date("!%Y-%m-%dT%H:%MZ") .. ".\n\n" .. text, "bench pacing")
end
os.exit(verdict and 0 or 1)
