--- Profiles: named environments (prod, staging, dev) in one config file, so that a client, a
-- script or the CLI says which one to use instead of juggling environment variables.
--
--   -- ~/.config/anthropic/config.lua
--   profile "prod" { key_file = "~/.config/anthropic/prod.key", workspace = "Production",
--                    admin_key_file = "~/.config/anthropic/admin.key", spend_limit = { usd = 50 } }
--   profile "dev" { default = true, key_command = { "pass", "show", "anthropic/dev" } }
--
-- The file: ANTHROPIC_CONFIG, else $XDG_CONFIG_HOME/anthropic/config.lua, else
-- ~/.config/anthropic/config.lua. It is Lua run in the organization files' sandbox, in a child
-- process with their limits (reconcile/dsl.lua, reconcile/bounded.lua), and every problem is
-- "FILE:LINE: ...". It never holds a key: a key-looking string anywhere in it (comments too) is
-- refused, and so is a file (or its directory) that another user can write.
-- The profile used: the option profile, else ANTHROPIC_PROFILE, else the one marked default = true.
-- Precedence for each setting: explicit option > environment > profile > defaults.
-- See docs/profiles.md.
local compat = require "anthropic.compat"
local errors = require "anthropic.error"
local options = require "anthropic.options"
local versions = require "anthropic.versions"
local ratelimits = require "anthropic.ratelimits"
local shapes = require "anthropic.shapes"

local M = {}

M.BLOCKS = { profile = { named = "name" } }

local function list_of_strings(v)
  if #v == 0 then return "must be a non-empty list of strings" end
  for k, x in pairs(v) do
    if not compat.is_integer(k) or k < 1 or k > #v then
      return "must be a list (got a field '" .. tostring(k) .. "')"
    end
    if type(x) ~= "string" then return "must hold strings only (item " .. k .. " is a " .. type(x) .. ")" end
  end
end

local function path_spec() return { type = "string", nonempty = true } end

local function url(v)
  if not v:match("^https?://[^/]") then return "must start with https:// (or http:// for a local server)" end
end

-- The fields a profile may set, as specs (options.lua). Transport options are checked by their
-- own specs (transport.OPTIONS), taken when first needed (transport requires this module).
M.FIELDS = {
  key_file = path_spec(), admin_key_file = path_spec(),
  key_command = { type = "table", check = list_of_strings },
  admin_key_command = { type = "table", check = list_of_strings },
  base_url = { type = "string", text = "url", check = url },
  workspace = { type = "string", nonempty = true },
  api_version = { type = "string", check = versions.check },
  rate_limit = ratelimits.SPEC,
  models = { type = "table", check = list_of_strings },
  default = { type = "boolean" },
  description = { type = "string" },
}
-- (also taken from transport.OPTIONS as they are)
M.TRANSPORT_FIELDS = { "spend_limit", "pace", "timeout", "connect_timeout", "max_retries", "proxy", "ca_file",
  "ca_path" }

local KEY_FIX = "a config file never holds a key: put the key in a file of its own (chmod 600) and name it "
  .. "with key_file (admin_key_file for an admin key), or give key_command = { ... } (a password manager)"

-- Looks like a key's bytes: an sk-ant- token, or 40 and more characters of a key's alphabet.
local function key_like(s)
  return s:find("sk%-ant%-[%w_%-]") ~= nil or s:find("^[%w_%-]+$") ~= nil and #s >= 40
end
M.key_like = key_like

---------------------------------------------------------------------------------------------------
-- Where the file is, and who can write it

--- The config file's path and why: ANTHROPIC_CONFIG, XDG_CONFIG_HOME or HOME. -> path, source | nil
function M.path()
  local function env(name)
    local v = os.getenv(name)
    if v ~= nil and v ~= "" then return v end
  end
  if env("ANTHROPIC_CONFIG") then return env("ANTHROPIC_CONFIG"), "ANTHROPIC_CONFIG" end
  if env("XDG_CONFIG_HOME") then return env("XDG_CONFIG_HOME") .. "/anthropic/config.lua", "XDG_CONFIG_HOME" end
  if env("HOME") then return env("HOME") .. "/.config/anthropic/config.lua", "HOME" end
end

--- A path with a leading ~/ made absolute with HOME.
function M.expand(p)
  local home = os.getenv("HOME")
  if home and p:sub(1, 2) == "~/" then return home .. p:sub(2) end
  return p
end

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local my_uid
--- The owner, mode and whether it is a directory, of a path (stat -L) -> { uid, mode, dir } | nil
function M.stat(path)
  local p = io.popen("stat -L -c '%u %a %F' -- " .. sh_quote(path) .. " 2>/dev/null; id -u")
  if not p then return nil end
  local out = p:read("*a")
  p:close()
  local uid, mode, kind, me = out:match("^(%d+) (%x+) ([^\n]*)\n(%d+)")
  my_uid = my_uid or tonumber(out:match("(%d+)%s*$"))
  if not uid then return nil end
  return { uid = tonumber(uid), mode = tonumber(mode, 8), dir = kind == "directory", me = tonumber(me) }
end

--- Whether permission bit `bit` (a power of two: 2 = 002, 16 = 020, 512 = the sticky bit) is set
-- in `mode`; arithmetic, since Lua 5.1 and LuaJIT have no `&`.
function M.mode_has(mode, bit) return math.floor(mode / bit) % 2 == 1 end
local function group_or_other_writable(mode) return M.mode_has(mode, 16) or M.mode_has(mode, 2) end -- 022

--- Why another user could change the file at path (its mode, owner or directory), or nil.
function M.writable_by_others(path)
  local st = M.stat(path)
  if not st then return nil end
  if st.uid ~= st.me and st.uid ~= 0 then
    return string.format("it belongs to another user (uid %d); a file others own can change what keys "
      .. "and URLs are used: copy it to a file of your own", st.uid)
  end
  if group_or_other_writable(st.mode) then
    return string.format("others can write it (mode %o): run chmod go-w %s", st.mode % 4096, path)
  end
  local dir = path:match("^(.*)/[^/]*$")
  if dir == "" then dir = "/" end
  local dst = dir and M.stat(dir)
  if dst and group_or_other_writable(dst.mode) and not M.mode_has(dst.mode, 512) then -- not sticky
    return string.format("others can write its directory %s (mode %o), so they could replace it: run chmod go-w %s",
      dir, dst.mode % 4096, dir)
  end
  if dst and dst.uid ~= dst.me and dst.uid ~= 0 then
    return string.format("its directory %s belongs to another user (uid %d)", dir, dst.uid)
  end
end

---------------------------------------------------------------------------------------------------
-- Evaluating and checking the file

local function split_lines(text)
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  return lines
end

-- The line of `field =` in the block starting at `from` (before `to`), or from.
local function field_line(lines, from, to, field)
  local pat = "%f[%w_]" .. field .. "%s*="
  for i = from, math.min(to, #lines) do
    if lines[i]:find(pat) then return i end
  end
  return from
end

-- Every string inside v (nested tables), with the field it is under.
local function strings_in(v, field, out, depth)
  if type(v) == "string" then
    out[#out + 1] = { field, v }
  elseif type(v) == "table" and depth < 10 then
    for k, x in pairs(v) do
      strings_in(k, field, out, depth + 1)
      strings_in(x, field, out, depth + 1)
    end
  end
  return out
end

--- Builds the configuration from the blocks a file declared (dsl.evaluate's build step)
-- -> { profiles = { name = profile }, order = { names }, default = name | nil, problems = { ... } }
function M.build(entries, text, path)
  local problems = {}
  local lines = split_lines(text)
  local function problem(line, msg) problems[#problems + 1] = { file = path, line = line, message = msg } end
  for i, l in ipairs(lines) do
    if l:find("sk%-ant%-[%w_%-]") then problem(i, "this line holds a key (sk-ant-...); " .. KEY_FIX) end
  end
  local known = {}
  for k in pairs(M.FIELDS) do known[#known + 1] = k end
  for _, k in ipairs(M.TRANSPORT_FIELDS) do known[#known + 1] = k end
  table.sort(known)
  local config = { profiles = {}, order = {} }
  local starts = {}
  for _, e in ipairs(entries) do starts[#starts + 1] = e.line end
  table.sort(starts)
  local function stop_of(line)
    for _, s in ipairs(starts) do
      if s > line then return s - 1 end
    end
    return #lines
  end
  for _, e in ipairs(entries) do
    local label = 'profile "' .. e.name .. '"'
    local stop = stop_of(e.line)
    if e.body == nil then
      problem(e.line, label .. ": expected a table after the name: profile \"NAME\" { ... }")
    elseif config.profiles[e.name] then
      problem(e.line, label .. " is declared twice (first at line " .. config.profiles[e.name].line .. ")")
    elseif not e.name:match("^[%w][%w_.-]*$") or #e.name > 64 then
      problem(e.line, label .. ": a profile name is letters, digits and _ . - (at most 64), starting with a "
        .. "letter or digit")
    else
      local p = { name = e.name, line = e.line, file = path }
      local names = {}
      for k in pairs(e.body) do names[#names + 1] = tostring(k) end
      table.sort(names)
      local ok = true
      for _, k in ipairs(names) do
        local v = e.body[k]
        local line = field_line(lines, e.line, stop, k)
        local spec = M.FIELDS[k]
        for _, t in ipairs(M.TRANSPORT_FIELDS) do
          if t == k then spec = true end -- checked by the parent (transport needs the C core)
        end
        if k == "api_key" or k == "admin_key" or k == "key" then
          problem(line, label .. ": " .. k .. " is refused; " .. KEY_FIX)
          ok = false
        elseif spec == nil then
          problem(line, string.format("%s: unknown field '%s' (known: %s)", label, k, table.concat(known, ", ")))
          ok = false
        else
          local msg
          for _, s in ipairs(strings_in(v, k, {}, 0)) do
            if key_like(s[2]) and not k:match("_file$") then
              msg = "field '" .. k .. "' holds what looks like a key; " .. KEY_FIX
            end
          end
          msg = msg or spec ~= true and options.check(spec, v, "field '" .. k .. "'") or nil
          if msg then
            problem(line, label .. ": " .. msg)
            ok = false
          else
            p[k] = v
            if spec == true then
              p.lines = p.lines or {}
              p.lines[k] = line
            end
          end
        end
      end
      if ok then
        if p.key_file and p.key_command then
          problem(e.line, label .. ": give key_file or key_command, not both")
        elseif p.admin_key_file and p.admin_key_command then
          problem(e.line, label .. ": give admin_key_file or admin_key_command, not both")
        end
        if p.default then
          if config.default then
            problem(e.line, label .. ": default = true is given twice (also profile \"" .. config.default
              .. "\", line " .. config.profiles[config.default].line .. ")")
          else
            config.default = e.name
          end
        end
      end
      config.profiles[e.name] = p
      config.order[#config.order + 1] = e.name
    end
  end
  config.problems = problems -- (reported by load, with those of the client options: M.load)
  return config
end

--- The file's evaluation in this process (the child runs it; see reconcile/bounded.lua).
function M.evaluate(text, path, opts)
  local dsl = require "anthropic.reconcile.dsl"
  local o = { blocks = M.BLOCKS, build = M.build, known = { "profile" }, what = "a config file" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return dsl.evaluate(text, path, o)
end

local cache = {} -- path -> { text =, config = } (the same text is not evaluated twice)

local function config_error(msg) return errors.new { kind = "config", message = msg } end

--- Loads the config file at path (default M.path()). -> config | nil (no file) | nil, err
function M.load(path)
  local source = "option config_file"
  if not path then path, source = M.path() end
  if not path then return nil end
  local f, oerr = io.open(path, "rb")
  if not f then
    if source == "ANTHROPIC_CONFIG" or source == "option config_file" then
      return nil, config_error(source .. " names " .. path .. ", which cannot be read (" .. tostring(oerr)
        .. "): create it (docs/profiles.md) or " .. (source == "ANTHROPIC_CONFIG" and "unset ANTHROPIC_CONFIG"
          or "name another file"))
    end
    if oerr and not oerr:find("No such file", 1, true) then
      return nil, config_error("the config file " .. path .. " cannot be read: " .. tostring(oerr))
    end
    return nil
  end
  local text = f:read("*a")
  f:close()
  if text == nil then return nil, config_error("the config file " .. path .. " is not a file") end
  local why = M.writable_by_others(path)
  if why then
    return nil, config_error("the config file " .. path .. " is refused: " .. why)
  end
  local hit = cache[path]
  if hit and hit.text == text then return hit.config end
  local dsl = require "anthropic.reconcile.dsl"
  local bounded = require "anthropic.reconcile.bounded"
  local result, failure = bounded.run(text, path, { instructions = dsl.MAX_INSTRUCTIONS, seconds = dsl.MAX_SECONDS,
    memory_mb = dsl.MAX_MEMORY_MB, evaluator = "anthropic.profiles" })
  if not result then return nil, config_error(failure) end
  if not result.config then
    return nil, errors.new { kind = "config", message = result.message, problems = result.problems }
  end
  local config = result.config
  config.path = path
  -- the client options a profile may set, checked by the client's own specs
  local transport = require "anthropic.transport"
  local problems = config.problems or {}
  config.problems = nil
  for _, name in ipairs(config.order) do
    local p = config.profiles[name]
    for _, field in ipairs { "key_file", "admin_key_file", "ca_file", "ca_path" } do -- (HOME: the child has none)
      if p[field] then p[field] = M.expand(p[field]) end
    end
    for k, line in pairs(p.lines or {}) do
      local msg = options.check(transport.OPTIONS[k], p[k], "field '" .. k .. "'")
      if msg then
        problems[#problems + 1] = { file = path, line = line, message = 'profile "' .. name .. '": ' .. msg }
      end
    end
    p.lines = nil
  end
  if #problems > 0 then
    table.sort(problems, function(a, b) return a.line < b.line end)
    local msgs = {}
    for i, pr in ipairs(problems) do msgs[i] = string.format("%s:%d: %s", pr.file, pr.line, pr.message) end
    return nil, errors.new { kind = "config", message = table.concat(msgs, "\n"), problems = problems }
  end
  cache[path] = { text = text, config = config }
  return config
end

--- The profile a client uses: opts.profile (a name, or false for none), else ANTHROPIC_PROFILE,
-- else the file's default; opts.config_file names the file instead of M.path().
-- -> profile (with .name, .file, .why) | nil; raises a config error for a problem.
function M.select(opts, ctor)
  local name, why = opts.profile, "option profile"
  if name == false then return nil end
  if name == nil then
    name = os.getenv("ANTHROPIC_PROFILE")
    if name == "" then name = nil end
    why = "ANTHROPIC_PROFILE"
  end
  local config, err = M.load(opts.config_file)
  if err then
    err.message = ctor .. ": " .. err.message
    errors.raise(err)
  end
  if not config then
    if name then
      local path = opts.config_file or M.path() or "~/.config/anthropic/config.lua"
      errors.raise(config_error(string.format("%s: profile '%s' is asked for (%s), but there is no config file "
        .. "(%s): create it with profile \"%s\" { ... } (docs/profiles.md)", ctor, name, why, path, name)))
    end
    return nil
  end
  if not name then
    if not config.default then return nil end
    name, why = config.default, "default = true in " .. config.path
  end
  local p = config.profiles[name]
  if not p then
    errors.raise(config_error(string.format("%s: no profile '%s' (%s) in %s (profiles: %s)", ctor, name, why,
      config.path, #config.order > 0 and table.concat(config.order, ", ") or "none")))
  end
  local copy = { why = why }
  for k, v in pairs(p) do copy[k] = v end
  return copy
end

---------------------------------------------------------------------------------------------------
-- The profile's workspace, checked with an admin key

--- The CLI's --admin-key-file (cli/common.lua set_globals): like ANTHROPIC_ADMIN_KEY, for the
-- whole process, and before it.
M.admin_key_file = nil

--- Whether an admin key is at hand for profile p: --admin-key-file, ANTHROPIC_ADMIN_KEY, or its
-- admin_key_file / admin_key_command. -> where | nil
function M.admin_source(p)
  if M.admin_key_file then return "--admin-key-file" end
  local env = os.getenv("ANTHROPIC_ADMIN_KEY")
  if env and env ~= "" then return "environment ANTHROPIC_ADMIN_KEY" end
  if p and p.admin_key_file then return "profile " .. p.name .. " admin_key_file" end
  if p and p.admin_key_command then return "profile " .. p.name .. " admin_key_command" end
end

--- An admin client for the same API as transport t (its profile's admin key, else
-- ANTHROPIC_ADMIN_KEY). -> admin | nil, err
function M.admin_for(t)
  local p = t.profile
  local ok, admin = pcall(require("anthropic").admin, {
    profile = p and p.name or false, config_file = p and p.file or nil, key_file = M.admin_key_file,
    base_url = t.base_url,
    api_version = t.api_version, ca_file = t._submit.ca_file, ca_path = t._submit.ca_path,
    max_retries = t.max_retries, timeout = t.timeout, connect_timeout = t.connect_timeout })
  if not ok then
    return nil, errors.is_error(admin) and admin or config_error(tostring(admin))
  end
  return admin
end

--- What the Admin API says of the key `key` (a C key object): the API key object whose hint it
-- has, and its workspace (nil for the default one). -> { key =, workspace = } | nil, err
function M.key_record(admin, key)
  local hint = key:hint()
  local found = {}
  local ok, err = compat.pcall(function() -- (a task may wait in here: compat.pcall, no for loop)
    local next_key = admin.api_keys:list({ limit = 1000 }):each()
    local k = next_key()
    while k ~= nil do
      if k.partial_key_hint == hint then found[#found + 1] = k end
      k = next_key()
    end
  end)
  if not ok then return nil, errors.is_error(err) and err or config_error(tostring(err)) end
  if #found == 0 then
    return nil, config_error("the admin key's organization has no API key with the hint " .. hint
      .. " (a key of another organization, or the admin key is)")
  end
  local k = found[1]
  for _, other in ipairs(found) do
    if shapes.key_workspace_id(other) ~= shapes.key_workspace_id(k) then
      return nil, config_error("more than one API key of the organization has the hint " .. hint
        .. ", in different workspaces: the key's workspace cannot be told")
    end
  end
  local ws
  local ws_id = shapes.key_workspace_id(k)
  if ws_id then
    local werr
    ws, werr = admin.workspaces:get(ws_id)
    if not ws then return nil, werr end
  end
  return { key = k, workspace = ws }
end

--- Before the first request of a client whose profile names a workspace: the key's workspace
-- must be that one (its name or id); once it passed, the same key and workspace are not checked
-- again in this process. Without an admin key nothing is checked (t.workspace_status
-- says so; anthropic doctor warns). -> true | nil, err (kind config; nothing was sent)
local checked = {} -- base_url, key hint and workspace that passed, in this process (one check each)

function M.check_workspace(t, key)
  local p = t.profile
  if not M.admin_source(p) then
    t.workspace_status = "unchecked (no admin key)"
    return true
  end
  local seen = t.base_url .. "\0" .. key:hint() .. "\0" .. p.workspace
  if checked[seen] then
    t.workspace_status = "checked"
    return true
  end
  local admin, aerr = M.admin_for(t)
  if not admin then return nil, aerr end
  local rec, err = M.key_record(admin, key)
  admin:close()
  local prefix = string.format("profile %s declares workspace = %q, but ", p.name, p.workspace)
  if not rec then
    err.message = prefix .. "its key's workspace cannot be checked: " .. err.message .. "; nothing was sent"
    return nil, err
  end
  local ws = rec.workspace
  local name, id = ws and ws.name or "Default", ws and ws.id or "(default workspace)"
  if p.workspace ~= name and p.workspace ~= id then
    return nil, config_error(string.format("%sthe key %s (%s) belongs to workspace %q (%s); nothing was sent. "
      .. "Give the profile a key of workspace %q, or correct workspace = in %s", prefix, key:hint(),
      t.key_origin or key:source(), name, id, p.workspace, p.file))
  end
  if ws and ws.archived_at then
    return nil, config_error(string.format("%sthat workspace (%s) is archived; nothing was sent. Use a key of an "
      .. "active workspace", prefix, id))
  end
  t.workspace_status = "checked"
  checked[seen] = true
  return true
end

return M
