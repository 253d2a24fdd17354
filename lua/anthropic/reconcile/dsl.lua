--- Evaluates an organization file (org.lua) in a sandbox and returns the desired state it
-- declares, checked against schema.lua. Every problem is reported as "FILE:LINE: what: message".
--
--   organization { id = "...", name = "..." }
--   workspace "production" { tags = {...}, members = {...}, keys = {...}, budget = {...} }
--   member "bob@example.com" { role = "developer" }
--   prune { members = false, invites = true }
--
-- The file sees only these four functions and a few pure libraries (string, table, math and
-- some base functions): no io, os, require, load, debug, dofile, loadfile, collectgarbage,
-- getmetatable or package; string methods ("x"):rep go to the same sandbox string table (no
-- string.dump). A file that runs too long is stopped (MAX_INSTRUCTIONS).
--
-- load_string and load_file evaluate the file in a child process (bounded.lua) that cannot use
-- more than MAX_MEMORY_MB of memory nor take longer than MAX_SECONDS, whatever the file calls
-- (one library call is one instruction: a pattern or a string.rep can run or allocate without
-- end). evaluate() is the same evaluation in this process, bounded by instructions only: for the
-- child, and for fuzzing.
local errors = require "anthropic.error"
local names = require "anthropic.names"
local schema = require "anthropic.reconcile.schema"
local validate = require "anthropic.reconcile.validate"
local bounded = require "anthropic.reconcile.bounded"
local compat = require "anthropic.compat"

local M = {}

M.MAX_INSTRUCTIONS = 20000000
M.MAX_SECONDS = 5
M.MAX_MEMORY_MB = 64

-- (no pcall: a file must not be able to catch the "ran too long" error and carry on)
local SAFE_BASE = { "assert", "error", "ipairs", "next", "pairs", "select", "tonumber", "tostring", "type",
  "unpack" }

-- What Lua raises when an allocation fails (a memory error has no position).
local NO_MEMORY = "not enough memory"

-- Lua's memory error; 5.3 also raises "FILE:LINE: not enough memory for buffer allocation"
-- (a string buffer that cannot grow).
local function no_memory(e)
  return e == NO_MEMORY or (type(e) == "string" and e:find(":%d+: not enough memory for buffer allocation$") ~= nil)
end

local function copy_lib(lib)
  local t = {}
  for k, v in pairs(lib) do t[k] = v end
  return t
end

local function label(entry)
  if entry.name == nil then return entry.kind end
  return entry.kind .. " " .. names.quote(entry.name, validate.SHOWN)
end

---------------------------------------------------------------------------------------------------
-- Finding the line of a field inside a block (the runtime knows only where the block starts)

local function escape(s)
  return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- The line of the first of `patterns` at or after line `from` (up to `to`), or nil.
local function find_line(lines, from, to, patterns)
  for i = from, math.min(to, #lines) do
    for _, p in ipairs(patterns) do
      if lines[i]:find(p) then return i end
    end
  end
end

local function segment_patterns(seg)
  if seg.field then
    return { "%f[%w_]" .. escape(seg.field) .. "%s*=", "%[%s*[\"']" .. escape(seg.field) .. "[\"']%s*%]" }
  end
  if type(seg.key) == "string" then
    local ps = { "[\"']" .. escape(seg.key) .. "[\"']" }
    if seg.key:match("^[%a_][%w_]*$") then ps[#ps + 1] = "%f[%w_]" .. escape(seg.key) .. "%s*=" end
    return ps
  end
end

-- The line where a problem's path points inside the block starting at `line` and ending at `stop`.
local function locate(lines, line, stop, path)
  local at = line
  for _, seg in ipairs(path or {}) do
    local ps = segment_patterns(seg)
    local found = ps and find_line(lines, at, stop, ps)
    if not found then break end
    at = found
  end
  return at
end

---------------------------------------------------------------------------------------------------
-- Loading the chunk

local function compile(text, chunkname, env)
  if text:byte(1) == 27 then return nil, chunkname:sub(2) .. ":1: binary chunks are not accepted" end
  return compat.load(text, chunkname, env)
end

-- The first line with code in chunk (where a file is before it ran anything).
local function first_line(chunk)
  local first
  for l in pairs(debug.getinfo(chunk, "L").activelines or {}) do
    if not first or l < first then first = l end
  end
  return first or 1
end

-- How many line events are looked at one by one (small files, and the start of any file, get
-- exact lines); after them, the line is sampled every HOOK_COUNT instructions.
local EXACT_LINES = 5000
local HOOK_COUNT = 1000

-- Runs fn() with an instruction budget (and, with opts.seconds, a budget of processor time
-- checked at the same points). opts.on_line(line) hears the line of the file being run when it
-- changes (the child reports it, for a file stopped inside one long library call).
-- -> ok, err, line (the last line of the file seen running)
local function run_limited(fn, chunkname, opts)
  local limit = opts.instructions or M.MAX_INSTRUCTIONS
  local deadline = opts.seconds and os.clock() + opts.seconds
  local on_line = opts.on_line
  local old = { debug.gethook() }
  local count, exact, last = 0, on_line and EXACT_LINES or 0, first_line(fn)
  if on_line then on_line(last) end
  local function seen(line)
    if line and line > 0 and line ~= last then
      last = line
      if on_line then on_line(line) end
    end
  end
  local hook
  hook = function(event, line)
    if event == "line" then
      if debug.getinfo(2, "S").source == chunkname then seen(line) end
      exact = exact - 1
      if exact <= 0 then debug.sethook(hook, "", HOOK_COUNT) end
      return
    end
    local info = debug.getinfo(2, "Sl")
    if info and info.source == chunkname then seen(info.currentline) end
    count = count + HOOK_COUNT
    if count > limit then
      error(string.format("%s:%d: the file ran too long (more than %d instructions)", opts.path, last, limit), 0)
    end
    if deadline and os.clock() > deadline then
      error(M.time_message(opts.path, last, opts.seconds), 0)
    end
  end
  -- LuaJIT runs no hook inside compiled code (`while true do end` becomes a trace that never
  -- comes back to the interpreter): the compiler is off, and what it compiled flushed, while the
  -- file runs.
  local jit = rawget(_G, "jit")
  local jit_was_on = jit and jit.status()
  if jit_was_on then
    jit.off()
    jit.flush()
  end
  debug.sethook(hook, exact > 0 and "l" or "", HOOK_COUNT)
  local ok, err = pcall(fn)
  debug.sethook(old[1], old[2] or "", old[3] or 0)
  if jit_was_on then jit.on() end
  return ok, err, last
end

-- The message for a memory error at `line`.
local function memory_message(path, line, mb)
  if mb then
    return string.format("%s:%d: the organization file used more than %d MB of memory", path, line, mb)
  end
  return string.format("%s:%d: the organization file ran out of memory", path, line)
end
M.memory_message = memory_message

function M.time_message(path, line, seconds)
  return string.format("%s:%d: the organization file took longer than %g s", path, line, seconds)
end

---------------------------------------------------------------------------------------------------

local function problem(path, line, text)
  return { file = path, line = line, message = text }
end

local function format_problem(p)
  return string.format("%s:%d: %s", p.file, p.line or 0, p.message)
end

-- A problem with the file: an error object of kind "config"; `problems` lists { file, line,
-- message } for the checks of the declarations (empty for a syntax or runtime error).
local function file_error(message, problems)
  return errors.new { kind = "config", message = message, problems = problems or {} }
end

--- Evaluates an organization file from text in this process (bounded by instructions only; see
-- load_string). opts: instructions (default MAX_INSTRUCTIONS), seconds (processor time, checked
-- between instructions), memory_mb (the limit named in a memory error), on_line (see run_limited).
-- -> config | nil, err (err.message: "FILE:LINE: ..." lines)
function M.evaluate(text, path, opts)
  path = path or "org.lua"
  opts = opts or {}
  local chunkname = "@" .. path
  local entries = {}
  local singles = {}
  local env

  -- The line in the file of the code calling a DSL function.
  local function caller_line()
    for level = 3, 30 do
      local info = debug.getinfo(level, "Sl")
      if not info then break end
      if info.source == chunkname then return info.currentline end
    end
    return 0
  end

  local function raise(line, msg)
    error(string.format("%s:%d: %s", path, line, msg), 0)
  end

  local blocks = opts.blocks or schema.blocks -- (another file kind: profiles.lua's config file)
  local function block(kind)
    local def = blocks[kind]
    if not def.named then
      return function(body)
        local line = caller_line()
        if type(body) ~= "table" then raise(line, kind .. " takes a table: " .. kind .. " { ... }") end
        if singles[kind] then
          raise(line, kind .. " is given twice (first at line " .. singles[kind].line .. ")")
        end
        local e = { kind = kind, line = line, body = body }
        singles[kind] = e
        entries[#entries + 1] = e
        return function()
          raise(caller_line(), string.format("%s: a second { ... } follows the block; %s takes one table: "
            .. "%s { ... }", kind, kind, kind))
        end
      end
    end
    return function(name)
      local line = caller_line()
      if type(name) ~= "string" then
        raise(line, string.format('%s needs a %s first: %s "NAME" { ... } (got %s)', kind, def.named, kind,
          type(name)))
      end
      local e = { kind = kind, name = name, line = line }
      entries[#entries + 1] = e
      return function(body)
        if e.body ~= nil then raise(caller_line(), label(e) .. ": the block is given twice") end
        if type(body) ~= "table" then
          raise(caller_line(), string.format('%s: expected a table after the name: %s %s { ... } (got %s)',
            label(e), kind, names.quote(name), type(body)))
        end
        e.body = body
        return function()
          raise(caller_line(), string.format("%s: a second { ... } follows the block; a block takes one "
            .. "table: %s %s { ... }", label(e), kind, names.quote(name)))
        end
      end
    end
  end

  local dsl = {}
  for kind in pairs(blocks) do dsl[kind] = block(kind) end
  local base = {}
  for _, name in ipairs(SAFE_BASE) do base[name] = rawget(_G, name) end
  base.unpack = base.unpack or compat.unpack
  base.string, base.table, base.math = copy_lib(string), copy_lib(table), copy_lib(math)
  base.math.random, base.math.randomseed = nil, nil -- a plan must not change from run to run
  base.string.dump = nil
  env = setmetatable({}, {
    __index = function(_, k)
      if dsl[k] then return dsl[k] end
      if base[k] ~= nil then return base[k] end
      local known = opts.known or { "organization", "workspace", "member", "prune" }
      error(string.format("%s:%d: unknown name '%s' (%s can use %s, and string, table, "
        .. "math; no io, os, require or load)", path, caller_line(), tostring(k),
        opts.what or "an organization file", table.concat(known, ", ")), 0)
    end,
    __newindex = function(t, k, v)
      if dsl[k] or base[k] ~= nil then
        error(string.format("%s:%d: '%s' is a reserved name", path, caller_line(), tostring(k)), 0)
      end
      rawset(t, k, v)
    end,
    __metatable = false,
  })

  local chunk, cerr = compile(text, chunkname, env)
  if not chunk then
    if no_memory(cerr) then return nil, file_error(memory_message(path, 1, opts.memory_mb)) end
    cerr = tostring(cerr)
    -- Where 5.4's parser says "C stack overflow", LuaJIT's says "org.lua:1: chunk has too many
    -- syntax levels" and 5.3's "org.lua:1: too many C levels (limit is 200) in main function near '{'"
    local at = "^" .. escape(path) .. ":%d+: "
    local deep = not cerr:find(at) and cerr:find("overflow")
    if cerr:find(at .. "chunk has too many syntax levels$") or cerr:find(at .. "too many C levels %(") then
      deep, cerr = true, cerr:gsub(at, "")
    end
    if not cerr:find("^" .. escape(path) .. ":%d+:") then -- "C stack overflow" from the parser has no line
      cerr = path .. ":1: cannot read the file: " .. cerr .. (deep and " (it nests too deep)" or "")
    end
    return nil, file_error(cerr)
  end
  -- String methods ("x"):rep go through the string metatable, whose __index is the real string
  -- table (string.dump and all): the file's own string table instead, for as long as it runs.
  local string_mt = debug.getmetatable("")
  local string_index = string_mt.__index
  string_mt.__index = base.string
  local ok, rerr, last = run_limited(chunk, chunkname, setmetatable({ path = path }, { __index = opts }))
  string_mt.__index = string_index
  if not ok then
    if no_memory(rerr) then return nil, file_error(memory_message(path, last, opts.memory_mb)) end
    local msg = rerr
    if type(rerr) == "table" and type(rerr.message) == "string" then
      msg = rerr.message
    elseif type(rerr) ~= "string" then -- error(nil), error({}): say so rather than "table: 0x..."
      msg = "error() was called with " .. (rerr == nil and "no message" or ("a " .. type(rerr) .. ", not a message"))
    end
    if not msg:find("^" .. escape(path) .. ":%d+:") then msg = path .. ":" .. last .. ": " .. msg end
    return nil, file_error(msg)
  end
  local built, config, berr = pcall(opts.build or M.build, entries, text, path)
  if built then return config, berr end
  if no_memory(config) then return nil, file_error(memory_message(path, last, opts.memory_mb)) end
  error(config, 0)
end

--- Loads an organization file from text, evaluated in a child process with the limits
-- MAX_MEMORY_MB, MAX_SECONDS and MAX_INSTRUCTIONS. -> config | nil, err (kind "config";
-- err.message: "FILE:LINE: ..." lines)
function M.load_string(text, path)
  path = path or "org.lua"
  local result, failure = bounded.run(text, path, {
    instructions = M.MAX_INSTRUCTIONS, seconds = M.MAX_SECONDS, memory_mb = M.MAX_MEMORY_MB })
  if not result then return nil, file_error(failure) end
  if result.config then return result.config end
  return nil, file_error(result.message, result.problems)
end

---------------------------------------------------------------------------------------------------
-- Checking the entries and building the configuration

local function entry_stops(entries, nlines)
  local starts = {}
  for _, e in ipairs(entries) do starts[#starts + 1] = e.line end
  table.sort(starts)
  return function(line)
    for _, s in ipairs(starts) do
      if s > line then return s - 1 end
    end
    return nlines
  end
end

--- Checks entries (from load_string) -> config | nil, err
function M.build(entries, text, path)
  local lines = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local stop_of = entry_stops(entries, #lines)
  local problems = {}

  local function report(e, p_path, message)
    local line = e and locate(lines, e.line, stop_of(e.line), p_path) or 0
    local where = e and label(e) or "file"
    local field = p_path and #p_path > 0 and (validate.path_text(p_path) .. ": ") or ""
    problems[#problems + 1] = problem(path, line, where .. ": " .. field .. message)
  end

  local config = {
    source = path, workspaces = {}, members = {}, prune = {}, organization = nil,
  }
  local ws_by_name, ws_by_id, members_by_email, key_ids = {}, {}, {}, {}

  for _, e in ipairs(entries) do
    local def = schema.blocks[e.kind]
    local ok, res = pcall(function()
      local name = e.name
      if def.named then name = validate.check(def.name_rule, e.name, {}) end
      return { name = name, body = validate.check({ type = "record", fields = def.fields }, e.body or {}, {}) }
    end)
    if not ok then
      if type(res) ~= "table" then error(res, 0) end
      report(e, res.path, res.message)
      -- still known by name, so that a later duplicate is reported too
      if e.kind == "workspace" and type(e.name) == "string" then
        ws_by_name[e.name] = ws_by_name[e.name] or { line = e.line }
      elseif e.kind == "member" and validate.is_email(e.name) then
        members_by_email[e.name:lower()] = members_by_email[e.name:lower()] or { line = e.line }
      end
    else
      local body, name = res.body, res.name
      if e.kind == "organization" then
        config.organization = { id = body.id, name = body.name, line = e.line }
      elseif e.kind == "prune" then
        for k, v in pairs(body) do config.prune[k] = v end
        config.prune_line = e.line
      elseif e.kind == "member" then
        if members_by_email[name] then
          report(e, nil, "duplicate member (also at line " .. members_by_email[name].line .. ")")
        else
          local m = { email = name, role = body.role, line = e.line, rbac_group_ids = body.rbac_group_ids }
          members_by_email[name] = m
          config.members[#config.members + 1] = m
        end
      elseif e.kind == "workspace" then
        local reserved = schema.RESERVED_WORKSPACES[name:lower()]
        if reserved then
          report(e, nil, reserved)
        elseif ws_by_name[name] then
          report(e, nil, "duplicate workspace name (also at line " .. ws_by_name[name].line .. ")")
        elseif body.id and ws_by_id[body.id] then
          report(e, { { field = "id" } }, "the same id is pinned by the workspace at line " .. ws_by_id[body.id].line)
        else
          local w = { name = name, line = e.line, id = body.id, tags = body.tags, members = body.members,
                      budget = body.budget, archived = body.archived, allow_recreate = body.allow_recreate,
                      rate_limits = body.rate_limits,
                      display_color = body.display_color and body.display_color:upper() or nil }
          if body.rate_limits then -- the line of each value, for the plan's problems (rate_limits.lua)
            w.rate_limit_lines = {}
            for key, limits in pairs(body.rate_limits) do
              w.rate_limit_lines[key] = locate(lines, e.line, stop_of(e.line),
                { { field = "rate_limits" }, { key = key } })
              for t in pairs(limits) do
                w.rate_limit_lines[key .. "\0" .. t] = locate(lines, e.line, stop_of(e.line),
                  { { field = "rate_limits" }, { key = key }, { key = t } })
              end
            end
          end
          if body.archived and (body.members or body.keys or body.budget or body.rate_limits) then
            report(e, { { field = "archived" } }, "an archived workspace has no members, keys, budget or rate limits")
          end
          if w.budget then
            local warn = w.budget.warn_at or { 0.8, 1.0 }
            table.sort(warn)
            w.budget.warn_at = warn
            w.budget.on_exceed = w.budget.on_exceed or "warn"
          end
          if body.keys then
            w.keys = {}
            local key_names = {}
            local function add_key(k, kpath)
              if k.rotate and not k.max_age_days then
                report(e, kpath, 'rotate = "deactivate" needs max_age_days')
              elseif k.on_idle and not k.idle_days then
                report(e, kpath, 'on_idle = "deactivate" needs idle_days')
              elseif k.id and key_ids[k.id] then
                report(e, kpath, "key " .. k.id .. " is declared twice")
              elseif not k.id and key_names[k.name] then
                report(e, kpath, "duplicate key name " .. names.quote(k.name))
              else
                if k.id then key_ids[k.id] = true else key_names[k.name] = true end
                k.label = k.name or k.id
                w.keys[#w.keys + 1] = k
              end
            end
            local knames = {}
            for kname in pairs(body.keys.map) do knames[#knames + 1] = kname end
            table.sort(knames)
            for _, kname in ipairs(knames) do
              local k = body.keys.map[kname]
              local kpath = { { field = "keys" }, { key = kname } }
              if k.name and k.name ~= kname then
                report(e, kpath, "the key is named by its entry; leave out name (or use a list entry with id)")
              else
                k.name = kname
                add_key(k, kpath)
              end
            end
            for i, k in ipairs(body.keys.list) do
              local kpath = { { field = "keys" }, { key = i } }
              if not k.id and not k.name then
                report(e, kpath, "a list entry needs id or name")
              else
                add_key(k, kpath)
              end
            end
          end
          ws_by_name[name] = w
          if body.id then ws_by_id[body.id] = w end
          config.workspaces[#config.workspaces + 1] = w
        end
      end
    end
  end
  if #problems > 0 then
    table.sort(problems, function(a, b) return a.line < b.line end)
    local msgs = {}
    for i, p in ipairs(problems) do msgs[i] = format_problem(p) end
    return nil, file_error(table.concat(msgs, "\n"), problems)
  end
  return config
end

--- Load an organization file. -> config | nil, err
function M.load_file(path)
  local f, ferr = io.open(path, "rb")
  if not f then return nil, file_error("cannot read " .. tostring(ferr)) end
  local text = f:read("*a")
  f:close()
  return M.load_string(text, path)
end

return M
