-- A C host that uses libcurl itself around Lua states with the module (spec/c/embed_host.c), in
-- both init orders, with a reload and another library loaded in between: every step runs, and
-- anthropic.libcurl_wiping() says whether libcurl frees through the wiping allocator. The host
-- embeds the VM the specs run under (make test LUA=luajit: LuaJIT), with that VM's core.
local emulator = require "helpers.emulator"
local util = require "helpers.util"

local function build_host(dir)
  local out, err, status = util.run({ "sh", "-c",
    "cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o \"$0\" spec/c/embed_host.c " ..
    "$(pkg-config --cflags --libs \"$1\" libcurl) -ldl", dir .. "/embed_host", util.vm(util.LUA) })
  assert(status == 0, "building spec/c/embed_host.c failed:\n" .. out .. err)
  return dir .. "/embed_host"
end

describe("a C host that uses libcurl itself", function()
  local dir, host, emu, key
  lazy_setup(function()
    dir = util.tmpdir()
    host = build_host(dir)
    key = emulator.make_key("api03")
    emu = emulator.start { keys = { key } }
  end)
  lazy_teardown(function()
    if emu then emu:stop() end
    util.rmdir(dir)
  end)

  local function run(order)
    local other = package.searchpath("cjson", package.cpath)
    -- the host runs from the project root, where this process's relative paths hold too
    return util.run({ host, order, package.path, package.cpath, "file://" .. util.root() .. "/README.md",
      other, emu.url }, { ANTHROPIC_API_KEY = key })
  end

  local function steps(out)
    local t = {}
    for line in out:gmatch("[^\n]+") do t[#t + 1] = line end
    return t
  end

  it("host first: libcurl keeps the host's allocator, every step runs, wiping is reported off", function()
    local out, err, status = run("host-first")
    assert.equal(0, status, out .. err)
    assert.same({
      "before: host transfer ok",
      "during: host transfer ok",
      "module: request ran, libcurl_wiping false",
      "after: host transfer ok",
      "loaded another library: yes",
      "after another library: host transfer ok",
      "during: host transfer ok",
      "module: request ran, libcurl_wiping false",
      "after reload: host transfer ok",
      "after cleanup: host transfer ok",
      "done",
    }, steps(out))
    util.assert_no_leak(out .. err, key, "the host's output")
  end)

  it("module first: the wiping allocator stays, and so does the module, after lua_close", function()
    local out, err, status = run("module-first")
    assert.equal(0, status, out .. err) -- was SIGSEGV (139) at "after": core.so unmapped
    assert.same({
      "during: host transfer ok",
      "module: request ran, libcurl_wiping true",
      "after: host transfer ok",
      "loaded another library: yes",
      "after another library: host transfer ok",
      "during: host transfer ok",
      "module: request ran, libcurl_wiping true",
      "after reload: host transfer ok",
      "after cleanup: host transfer ok",
      "done",
    }, steps(out))
    util.assert_no_leak(out .. err, key, "the host's output")
  end)
end)
