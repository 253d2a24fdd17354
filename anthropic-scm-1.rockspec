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
external_dependencies = { CURL = { header = "curl/curl.h", library = "curl" } }
build = {
  type = "builtin",
  modules = {
    ["anthropic.core"] = {
      sources = { "src/core.c", "src/lkey.c", "src/lengine.c", "src/engine.c", "src/retry.c",
        "src/secret.c", "src/dotenv.c", "src/sse.c" },
      defines = { "_GNU_SOURCE" },
      libraries = { "curl" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
  },
  install = { bin = { anthropic = "bin/anthropic" } },
  copy_directories = { "docs", "examples" },
}
test_dependencies = { "busted >= 2.1" }
test = { type = "busted" }
