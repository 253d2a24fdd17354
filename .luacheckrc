std = "lua54"
max_line_length = 120
include_files = { "lua/**/*.lua", "spec/**/*.lua", "examples/**/*.lua", "bin/anthropic", "*.rockspec",
  ".busted", ".luacheckrc" }
exclude_files = { "build", "build-*", ".luarocks", "lua_modules" }
files["spec"] = { std = "+busted" }
files["*.rockspec"] = { globals = { "rockspec_format", "package", "version", "source", "description",
  "dependencies", "external_dependencies", "build", "test_dependencies", "test" } }
files[".busted"] = { std = "min" }
