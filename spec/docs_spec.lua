-- Docs that run: every ```lua block of README.md and docs/*.md runs, as it stands, in a child
-- Lua process against the emulator, with the set-up each page states: ANTHROPIC_API_KEY,
-- ANTHROPIC_ADMIN_KEY and ANTHROPIC_BASE_URL in the environment (the emulator's keys and URL), the
-- checkout's lua/ and build/ on the paths, a fresh directory as the working directory, and batches
-- that end at once; and the page's own set-up (a `<!-- doc-test set-up: LUA -->` line, said in
-- words on the page too), run before each block. A block whose first line is `-- fragment: WHY`
-- is a part of a program, skipped on purpose; WHY must say what it needs. A block that fails is
-- reported with its file and line.
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local FILES = { "README.md" }
do
  local p = io.popen("ls docs/*.md")
  for f in p:lines() do FILES[#FILES + 1] = f end
  p:close()
end

-- -> { { file, line, code } } of the lua blocks of a Markdown file, and the page's set-up: the
-- Lua of a `<!-- doc-test set-up: ... -->` line, run before each of its blocks (the page says so
-- in words too)
local function blocks(path)
  local list, cur = {}, nil
  local n = 0
  local setup = ""
  for line in io.lines(path) do
    n = n + 1
    local s = line:match("^<!%-%- doc%-test set%-up: (.*) %-%->$")
    if s then setup = s end
    if cur then
      if line:match("^%s*```%s*$") then
        list[#list + 1] = cur
        cur = nil
      else
        cur.lines[#cur.lines + 1] = line
      end
    elseif line:match("^%s*```lua%s*$") then
      cur = { file = path, line = n + 1, lines = {} }
    end
  end
  for _, b in ipairs(list) do b.code = table.concat(b.lines, "\n") .. "\n" end
  return list, setup
end

describe("the Lua blocks of the docs", function()
  local emu, api_key, admin_key, dir
  lazy_setup(function()
    api_key = emulator.make_key("api03")
    admin_key = emulator.make_key("admin01")
    emu = emulator.start { keys = { api_key, admin_key } }
    dir = util.tmpdir()
  end)
  lazy_teardown(function()
    emu:stop()
    util.rmdir(dir)
  end)

  local root = util.root()
  for _, file in ipairs(FILES) do
    local list, setup = blocks(file)
    for _, b in ipairs(list) do
      local first = b.lines[1] or ""
      local why = first:match("^%-%- fragment: *(.*)$")
      if why then
        it(file .. ":" .. b.line .. " is a fragment that says what it needs", function()
          assert.is_true(#why >= 10, file .. ":" .. b.line .. ": say what the fragment needs after '-- fragment:'")
        end)
      else
        it(file .. ":" .. b.line .. " runs against the emulator", function()
          emu:reset()
          emu:request("POST", "/_emulator/batches", { processing_seconds = 0 })
          local prelude = string.format("package.path = %q .. package.path; package.cpath = %q .. package.cpath\n",
            root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;", root .. "/build/?.so;")
          local chunk = prelude .. setup .. "\n-- " .. file .. ":" .. b.line .. "\n" .. b.code
          local script = util.write(dir .. "/block.lua", chunk, "600")
          local out, err, code = util.run({ "timeout", "30", emulator.LUA, script }, {
            ANTHROPIC_API_KEY = api_key, ANTHROPIC_ADMIN_KEY = admin_key, ANTHROPIC_BASE_URL = emu.url,
            ANTHROPIC_AUTH_TOKEN = false, ANTHROPIC_LOG = false, ANTHROPIC_API_VERSION = false,
          }, dir)
          util.assert_no_leak(out .. err, api_key, file .. ":" .. b.line)
          util.assert_no_leak(out .. err, admin_key, file .. ":" .. b.line)
          assert(code == 0, string.format("%s:%d failed (exit %s):\n%s%s", file, b.line, tostring(code), out, err))
        end)
      end
    end
  end
end)
