rockspec_format = "3.0"
package = "anthropic"
version = "scm-1"
source = { url = "git+https://example.invalid/lua-anthropic.git" }
description = {
  summary = "The Anthropic API from Lua: Messages, Admin API and declarative organizations",
  detailed = [[
A Lua 5.4 module with a C core on libcurl (non-blocking engine, SDK-compatible retries, keys kept
in locked C memory) and a thin Lua layer for the Messages and Admin APIs, plus a local emulator.]],
  license = "MIT",
  labels = { "http", "anthropic", "claude", "llm" },
}
dependencies = { "lua >= 5.4, < 5.5", "lua-cjson", "luasocket" }
-- The Makefile finds libcurl and Lua through pkg-config (Debian keeps curl.h in a multiarch
-- directory that the builtin backend does not search).
build = {
  type = "make",
  build_target = "build",
  install_target = "install",
  build_variables = { CFLAGS = "$(CFLAGS)", LUA_INCDIR = "$(LUA_INCDIR)" },
  install_variables = { INST_LIBDIR = "$(LIBDIR)", INST_LUADIR = "$(LUADIR)", INST_BINDIR = "$(BINDIR)" },
  copy_directories = { "docs", "examples" },
}
test_dependencies = { "busted >= 2.1" }
test = { type = "busted" }
