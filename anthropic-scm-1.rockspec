rockspec_format = "3.0"
package = "anthropic"
version = "scm-1"
source = { url = "git+https://github.com/lua-anthropic/lua-anthropic.git" }
description = {
  summary = "The Anthropic API from Lua: Messages, Admin API and declarative organizations",
  detailed = [[
A Lua module (5.1, 5.3, 5.4 and LuaJIT 2.1) with a C core on libcurl (non-blocking engine,
SDK-compatible retries, keys kept in locked C memory) and a thin Lua layer for the Messages and
Admin APIs, plus a local emulator (which, like the command line, needs Lua 5.3 or later).]],
  homepage = "https://github.com/lua-anthropic/lua-anthropic",
  license = "MIT",
  labels = { "http", "anthropic", "claude", "llm" },
}
-- The client needs nothing but libcurl. luasocket is the emulator's (`anthropic emulator`, the
-- tests), and lua-sec its HTTPS: install them to run it.
dependencies = { "lua >= 5.1, < 5.5" }
-- libcurl: LuaRocks checks for the library only. Its header check would fail on Debian, which keeps
-- curl.h in a multiarch directory (/usr/include/x86_64-linux-gnu) that LuaRocks does not search;
-- the Makefile finds the header and the flags through pkg-config, and LUA_INCDIR names the rock
-- tree's Lua (5.1, 5.3, 5.4 or LuaJIT).
external_dependencies = {
  CURL = { library = "curl" },
}
build = {
  type = "make",
  build_target = "build",
  install_target = "install",
  build_variables = { CFLAGS = "$(CFLAGS)", LUA_INCDIR = "$(LUA_INCDIR)" },
  install_variables = { INST_LIBDIR = "$(LIBDIR)", INST_LUADIR = "$(LUADIR)", INST_BINDIR = "$(BINDIR)" },
  copy_directories = { "docs", "examples" },
}
test_dependencies = { "busted >= 2.1", "luasocket", "lua-cjson" }
test = { type = "busted" }
