/* fuzz_stream.c - libFuzzer target for the stream accumulator (lua/anthropic/stream.lua), run
 * inside an embedded Lua 5.4 with the C core linked in (anthropic.core: JSON, text buffers):
 *   make build/fuzz_stream && build/fuzz_stream -max_total_time=30 spec/fuzz/stream
 * The input describes a stream's events (well-formed or not) and how its transfer ends; the
 * rules are checked in Lua, in spec/fuzz/fuzz_stream.lua (see there): every way of reading
 * the stream (events(), text(), next(), final(); text deltas as JSON, read by the engine or in
 * batches; with or without keep_content) hands out the same and ends the same, what the
 * iterators hand out agrees with final(), and every failure is an error object. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef AE_LUA_DIR
#define AE_LUA_DIR "lua"
#endif
#ifndef AE_FUZZ_DIR
#define AE_FUZZ_DIR "spec/fuzz"
#endif

int luaopen_anthropic_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static int check_ref;

static void setup(void) {
  L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_anthropic_core);
  lua_setfield(L, -2, "anthropic.core");
  lua_pop(L, 1);
  if (luaL_dostring(L, "package.path = '" AE_LUA_DIR "/?.lua;" AE_LUA_DIR "/?/init.lua;' .. package.path\n"
                       "return dofile('" AE_FUZZ_DIR "/fuzz_stream.lua')")) {
    fprintf(stderr, "fuzz_stream: cannot load the checks: %s\n", lua_tostring(L, -1));
    abort();
  }
  check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L) setup();
  lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    abort();
  }
  lua_gc(L, LUA_GCCOLLECT, 0); /* the streams' text buffers are freed by __gc: no leak report */
  return 0;
}
