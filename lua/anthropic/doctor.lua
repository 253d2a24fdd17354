--- `anthropic doctor`: checks a setup end to end, in order, each giving PASS, WARN or FAIL, what
-- was found and, when not PASS, the fix. Never shows a key: hints only. See docs/troubleshooting.md.
--   doctor.run{ profile =, config_file =, connect_timeout = } -> { { check =, status =, message =, fix = }, ... }
-- One request goes to the API: a count_tokens (free, with its own request bucket), whose answer
-- says whether the API is reached, the key accepted and how much of the rate limits is left.
-- With an admin key (the profile's or ANTHROPIC_ADMIN_KEY) the key's workspace and status and the
-- month's cost are read from the Admin API.
local anthropic = require "anthropic"
local profiles = require "anthropic.profiles"
local deprecations = require "anthropic.deprecations"
local versions = require "anthropic.versions"

local M = {}

M.CHECKS = { "config", "key source", "key format", "permissions", "reach", "authentication", "workspace",
  "rate limits", "spend", "models", "api version" }

M.PROBE_MODEL = "claude-opus-4-6"

local PROXY_VARS = { "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY",
  "no_proxy", "NO_PROXY" }

-- The answer's headers doctor reads (the transfer is closed once read).
local HEADERS = { "anthropic-workspace-id" }
for _, family in ipairs { "requests", "input-tokens", "output-tokens" } do
  for _, part in ipairs { "limit", "remaining", "reset" } do
    HEADERS[#HEADERS + 1] = "anthropic-ratelimit-" .. family .. "-" .. part
  end
end

local function set_env(name)
  local v = os.getenv(name)
  return v ~= nil and v ~= ""
end

local function msg_of(e)
  if type(e) == "table" and type(e.message) == "string" then return e.message end
  return (tostring(e):gsub("^[^:\n]*%.lua:%d+: ", ""))
end

-- The words for where a key came from (the C core's source names, or the profile's).
local function origin(t, key)
  if t.key_origin then return t.key_origin end
  local s = key:source()
  if s == "api_key" or s == "key_file" or s == "key_command" or s == "key_fn" then return "option " .. s end
  local env = s:match("^env:(.*)$")
  if env then
    return "environment " .. env .. " (no option gives a key" .. (t.profile and "" or ", no profile") .. ")"
  end
  local dot = s:match("^dotenv:(.*)$")
  if dot then return dot .. " in the .env file (no option and no environment variable gives a key)" end
  return s
end

local function host_of(url)
  return url:match("^%a+://%[([^%]]+)%]") or url:match("^%a+://([^:/?#]+)")
end

local function is_loopback(host)
  return host == "localhost" or host:match("^127%.%d+%.%d+%.%d+$") or host == "::1"
end

local function resolves(host)
  if host:match("^%d+%.%d+%.%d+%.%d+$") or host:find(":", 1, true) or is_loopback(host) then return true end
  local p = io.popen("getent hosts '" .. host:gsub("'", "") .. "' 2>/dev/null")
  if not p then return true end
  local out = p:read("*a")
  p:close()
  return out ~= nil and out:match("%S") ~= nil
end

-- The file's mode, as octal text, and what is wrong with it for a file holding a key.
local function key_file_problem(path)
  local st = profiles.stat(path)
  if not st then return nil, "cannot be read (missing?)" end
  local perm = st.mode % 4096
  local text = string.format("%o", perm)
  if profiles.mode_has(perm, 32) or profiles.mode_has(perm, 4) then -- 040, 004
    return text, string.format("others can read it (mode %s): run chmod 600 %s", text, path)
  end
  if profiles.mode_has(perm, 16) or profiles.mode_has(perm, 2) then -- 020, 002
    return text, string.format("others can write it (mode %s): run chmod 600 %s", text, path)
  end
  return text
end

-- Why a 401 happened, from the API's message.
local function explain_401(message)
  local m = message:lower()
  if m:find("admin api key", 1, true) then
    return "an Admin API key was sent to the Messages API", "give a regular API key (sk-ant-api03-...) in "
      .. "key_file; admin keys go in admin_key_file / ANTHROPIC_ADMIN_KEY"
  end
  local status = m:match("api key is (%a+)")
  if status then
    return "the key is " .. status .. " (revoked: it can never be used again)", "create a new key in the Console "
      .. "(Settings > API keys) in the right workspace and put it where the key comes from"
  end
  return "the API does not know this key: it was revoked and deleted, belongs to another organization, or is "
    .. "mistyped (a key of another workspace works, but bills that workspace: see the workspace line)",
    "copy the key again from the Console (Settings > API keys), or check that this is the key you meant"
end

local function ratelimit_line(h)
  local parts, worst, fix = {}, "PASS", nil
  for _, f in ipairs { { "requests", "requests" }, { "input-tokens", "input tokens" },
      { "output-tokens", "output tokens" } } do
    local limit = tonumber(h("anthropic-ratelimit-" .. f[1] .. "-limit") or "")
    local left = tonumber(h("anthropic-ratelimit-" .. f[1] .. "-remaining") or "")
    if limit and left then
      parts[#parts + 1] = string.format("%s %d of %d left", f[2], left, limit)
      if left <= 0 then
        worst = "FAIL"
        fix = string.format("the %s per minute are used up (full again at %s): wait, send less at once, or pace "
          .. "with rate_limit = \"auto\" (docs/rate-limits.md)", f[2],
          tostring(h("anthropic-ratelimit-" .. f[1] .. "-reset")))
      elseif left < limit / 10 and worst == "PASS" then
        worst = "WARN"
        fix = "less than a tenth of the " .. f[2] .. " per minute is left: pace with rate_limit = \"auto\""
      end
    end
  end
  if #parts == 0 then return "WARN", "the answer carried no anthropic-ratelimit-* headers", nil end
  return worst, table.concat(parts, ", ") .. " (per minute)", fix
end

--- Runs every check. -> list of results (see the top), and whether one failed.
function M.run(opts)
  opts = opts or {}
  local results, failed = {}, false
  local function add(check, status, message, fix)
    results[#results + 1] = { check = check, status = status, message = message, fix = fix }
    if status == "FAIL" then failed = true end
  end

  -- config
  local path, why = profiles.path()
  if opts.config_file then path, why = opts.config_file, "--config" end
  local config, cerr = profiles.load(opts.config_file)
  local profile
  if cerr then
    add("config", "FAIL", cerr.message, "correct the config file at the line given (docs/profiles.md)")
  else
    local ok, p = pcall(profiles.select, { profile = opts.profile, config_file = opts.config_file }, "doctor")
    if not ok then
      add("config", "FAIL", msg_of(p), "name a profile the file declares (anthropic profiles lists them)")
    elseif p then
      profile = p
      add("config", "PASS", string.format("profile %s of %s (chosen by %s)", p.name, config.path, p.why))
    else
      add("config", "PASS", config and ("no profile used (" .. config.path .. " has no default)")
        or string.format("no config file (%s, from %s): no profile used", tostring(path), tostring(why)))
    end
  end

  -- the client (a config error here is reported above)
  local made, client = pcall(anthropic.new, { profile = profile and profile.name or false,
    config_file = profile and profile.file or nil, key_file = opts.key_file, max_retries = 0,
    api_version = opts.api_version,
    connect_timeout = opts.connect_timeout or 5, timeout = opts.timeout or 30 })
  if not made then
    add("key source", "FAIL", msg_of(client), "fix the option or the profile named")
    return results, true
  end
  local t = client._transport
  t.workspace_check = "doctor" -- (checked below, with more to say than the client's check)

  -- key source and format
  local key, kerr = t:key()
  if not key then
    local m = kerr.message
    add("key source", "FAIL", m, m:find("no API key found", 1, true) and
      "set ANTHROPIC_API_KEY, or give the profile key_file / key_command (docs/profiles.md)"
      or "make the source give the key: the file readable by you only (chmod 600), the command working")
    if m:find("is an Admin API key", 1, true) then
      add("key format", "FAIL", "an Admin API key (sk-ant-admin...) is where the Messages API key should be",
        "put a regular API key (sk-ant-api03-...) there; admin keys go in admin_key_file or ANTHROPIC_ADMIN_KEY")
    end
  else
    local o = origin(t, key)
    if o:match("^environment .*before profile") then
      add("key source", "WARN", "key from " .. o, "unset that variable to use the profile's key (the environment "
        .. "comes before a profile: docs/profiles.md#precedence)")
    else
      add("key source", "PASS", "key from " .. o)
    end
    local hint = key:hint()
    if hint:match("^sk%-ant%-api%d%d%-") then
      add("key format", "PASS", "a Messages API key, " .. hint)
    elseif hint:match("^sk%-ant%-oat") or key:source():match("AUTH_TOKEN") then
      add("key format", "PASS", "an OAuth token (sent as Authorization: Bearer), " .. hint)
    else
      add("key format", "WARN", "the key does not look like an Anthropic API key (sk-ant-api03-...): " .. hint,
        "check that the source gives the key itself, on one line")
    end
  end

  -- permissions
  local files, perm_fail = {}, nil
  if config then
    local w = profiles.writable_by_others(config.path)
    if w then perm_fail = config.path .. ": " .. w end
    files[#files + 1] = config.path
  end
  local key_file = t.key_opts.key_file
  for _, f in ipairs { key_file, profile and profile.admin_key_file } do
    if f then
      local mode, problem = key_file_problem(f)
      if problem then perm_fail = perm_fail or (f .. ": " .. problem) end
      files[#files + 1] = f .. (mode and (" (" .. mode .. ")") or "")
    end
  end
  if perm_fail then
    add("permissions", "FAIL", perm_fail, "make the file yours and private: chmod 600 (and chmod go-w its directory)")
  else
    add("permissions", "PASS", #files > 0 and ("only you can change " .. table.concat(files, ", "))
      or "no file involved")
  end

  -- reach, authentication, rate limits: one count_tokens
  local host = host_of(t.base_url) or "?"
  local proxies = {}
  for _, v in ipairs(PROXY_VARS) do
    if set_env(v) then proxies[#proxies + 1] = v end
  end
  local route = is_loopback(host) and "direct (loopback)" or #proxies > 0 and ("proxy variables set: "
    .. table.concat(proxies, ", ")) or "direct"
  local status, headers, perr, answered
  if key then
    if not resolves(host) then
      perr = { kind = "connection", message = "the host name " .. host .. " does not resolve (DNS)" }
    else
      local params = { model = profile and profile.models and profile.models[1] or M.PROBE_MODEL,
        messages = { { role = "user", content = "ping" } } }
      answered, perr = t:request({ method = "POST", path = "/v1/messages/count_tokens", idempotent = true,
        on_done = function(h, st)
          local got = {}
          for _, name in ipairs(HEADERS) do got[name] = h(name) end
          headers, status = function(name) return got[name] end, st
        end }, params)
      if answered then status = status or 200 end
      if perr and perr.status then status = perr.status end
    end
  end
  if not key then
    add("reach", "WARN", "not tried without a key (" .. t.base_url .. ", " .. route .. ")")
  elseif perr and not perr.status then
    local fix = "check base_url (" .. t.base_url .. "), the network and the firewall"
    if perr.kind == "tls" then
      fix = "the TLS handshake failed: give ca_file (or ANTHROPIC_CA_FILE) when a proxy or server uses a CA of "
        .. "its own; check the system's CA certificates"
    elseif #proxies > 0 and not is_loopback(host) then
      fix = fix .. "; the proxy variables (" .. table.concat(proxies, ", ") .. ") route https through a proxy: "
        .. "check it is up, or set NO_PROXY for this host"
    end
    add("reach", "FAIL", string.format("cannot reach %s (%s): %s", t.base_url, route, perr.message), fix)
  else
    add("reach", "PASS", string.format("%s answered HTTP %d (%s)", t.base_url, status, route))
  end

  local spend_cap
  if not status then
    add("authentication", "WARN", key and "not tried: the API was not reached" or "not tried without a key")
  else
    if status == 401 then
      local what, fix = explain_401(perr.message)
      add("authentication", "FAIL", "401: " .. what .. " (the API said: " .. perr.message .. ")", fix)
    elseif status == 403 then
      add("authentication", "FAIL", "403: the key is accepted but may not do this (" .. perr.message .. ")",
        "ask a workspace admin for the role this needs, or use a key of the right workspace")
    elseif status == 429 and perr.details and perr.details.error_code == "enforced_spend_limit_reached" then
      spend_cap = perr.message
      add("authentication", "PASS", "the key is accepted (the answer was the spend cap's 429: see spend)")
    elseif status >= 200 and status < 300 or status == 429 then
      add("authentication", "PASS", "the key is accepted" .. (headers and headers("anthropic-workspace-id")
        and (" (workspace " .. headers("anthropic-workspace-id") .. ")") or " (the default workspace)"))
    elseif status == 404 then
      add("authentication", "WARN", "404 for count_tokens: " .. perr.message, "check base_url: it should be the "
        .. "API's root, without /v1")
    else
      add("authentication", "WARN", string.format("HTTP %d: %s", status, perr and perr.message or ""),
        status == 529 and "the API is overloaded: try again in a while" or "try again; see docs/troubleshooting.md")
    end
  end

  -- workspace (admin key)
  local admin
  if not key then
    add("workspace", "WARN", "not checked without a key")
  elseif not profiles.admin_source(profile) then
    add("workspace", "WARN", "not checked: no admin key" .. (profile and profile.workspace
      and (" (profile " .. profile.name .. " declares workspace = \"" .. profile.workspace .. "\")") or ""),
      "give the profile admin_key_file (or set ANTHROPIC_ADMIN_KEY) to check the key's workspace and status")
  else
    local aerr
    admin, aerr = profiles.admin_for(t)
    local rec
    if admin then
      local _, akerr = admin._transport:key()
      if akerr then
        aerr, admin = akerr, nil
      else
        rec, aerr = profiles.key_record(admin, key)
      end
    end
    if not rec then
      local m = msg_of(aerr)
      add("workspace", "FAIL", "cannot read the key's workspace: " .. m, m:find("not an Admin API key", 1, true)
        and "the admin key source holds a regular API key: put an sk-ant-admin... key there (Console > "
        .. "Settings > Admin keys)" or "check the admin key (anthropic doctor shows its source)")
    else
      local ws = rec.workspace
      local name = ws and ws.name or "Default"
      local id = ws and ws.id or "the default workspace"
      local kstatus = rec.key.status or "?"
      if ws and ws.archived_at then
        add("workspace", "FAIL", string.format("the key %q is in workspace %q (%s), archived at %s", tostring(
          rec.key.name), name, id, ws.archived_at), "an archived workspace's keys are revoked: use a key of an "
          .. "active workspace")
      elseif kstatus ~= "active" then
        add("workspace", "FAIL", string.format("the key %q (workspace %q) is %s", tostring(rec.key.name), name,
          kstatus), "create a new key in the Console and put it where the key comes from")
      elseif profile and profile.workspace and profile.workspace ~= name and profile.workspace ~= id then
        add("workspace", "FAIL", string.format("the key %q belongs to workspace %q (%s), not %q as profile %s "
          .. "declares", tostring(rec.key.name), name, id, profile.workspace, profile.name),
          "give the profile a key of workspace " .. profile.workspace .. ", or correct workspace =")
      else
        add("workspace", "PASS", string.format("the key %q (active) is in workspace %q (%s)%s",
          tostring(rec.key.name), name, id, profile and profile.workspace and ", as the profile declares" or ""))
      end
    end
  end

  -- rate limits
  if not key or not status then
    add("rate limits", "WARN", "not checked (no answer from the API)")
  elseif status == 429 and not spend_cap then
    add("rate limits", "FAIL", "429: " .. perr.message .. (perr.retry_after and string.format(" (retry-after %g s)",
      perr.retry_after) or ""), "wait, send less at once, or pace with rate_limit = \"auto\" (docs/rate-limits.md)")
  elseif headers then
    local st, m, fix = ratelimit_line(headers)
    add("rate limits", st, m .. " (the token-counting request bucket; the token buckets are the Messages API's)", fix)
  else
    add("rate limits", "WARN", "no headers to read")
  end

  -- spend
  if spend_cap then
    add("spend", "FAIL", "the organization's monthly spend limit is reached: " .. spend_cap, "nothing is served "
      .. "until the 1st of next month (00:00 UTC): raise the limit in the Console (Settings > Limits), or wait")
  elseif admin then
    local now = os.time()
    local from = os.date("!%Y-%m-01T00:00:00Z", now)
    local buckets, err = admin.cost:report({ starting_at = from }):all()
    if not buckets then
      add("spend", "WARN", "cannot read the cost report: " .. msg_of(err))
    else
      local total = require("anthropic.reports").cost(buckets)
      local budget = profile and profile.spend_limit and profile.spend_limit.usd
      add("spend", "PASS", string.format("this month the organization spent USD %s%s", total.dollars,
        budget and string.format("; profile %s stops a client at USD %s (spend_limit)", profile.name,
          tostring(budget)) or ""))
    end
  else
    add("spend", "WARN", "not checked: no admin key (the month's cost comes from the Admin API)",
      "give the profile admin_key_file (or set ANTHROPIC_ADMIN_KEY)")
  end
  if admin then admin:close() end

  -- models
  local models = profile and profile.models or {}
  if #models == 0 then
    add("models", "PASS", "the profile lists no models")
  else
    local worst, lines = "PASS", {}
    for _, m in ipairs(models) do
      local d = deprecations.MODELS[m]
      if d then
        lines[#lines + 1] = deprecations.message(m)
        if d.state == "retired" then worst = "FAIL" elseif worst == "PASS" then worst = "WARN" end
      end
    end
    if worst == "PASS" then
      add("models", "PASS", "none deprecated: " .. table.concat(models, ", "))
    else
      add("models", worst, table.concat(lines, "; "), "change models = { ... } in profile " .. profile.name
        .. " and the code that uses them")
    end
  end

  -- API version
  if t.api_version == versions.DEFAULT then
    add("api version", "PASS", t.api_version .. " (the current one)")
  else
    add("api version", "WARN", t.api_version .. " is pinned (by --api-version, ANTHROPIC_API_VERSION or the "
      .. "profile); the current one is " .. versions.DEFAULT, "drop the pin unless the code relies on what "
      .. t.api_version .. " accepts (docs/getting-started.md#api-versions)")
  end
  client:close()
  return results, failed
end

return M
