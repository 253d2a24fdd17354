/* fuzz_http.c - libFuzzer target for the emulator's HTTP/1.1 request parser
 * (lua/anthropic/emulator/http.lua, Conn:read_request), run inside an embedded Lua 5.4:
 *   make build/fuzz_http && build/fuzz_http -max_total_time=30 spec/fuzz/http
 * The input is what a client sends, over a fake connection that hands the bytes out in pieces;
 * the rules are checked in Lua, in spec/fuzz/fuzz_http.lua (see there): a request or a 4xx
 * answer, never a raise, never a loop, the head and body limits kept, the same request however
 * the bytes arrive.
 * libFuzzer sees no coverage of Lua code by itself: a line hook (inherited by the coroutines the
 * checks make) maps each (source, previous line, line) step to one of libFuzzer's extra counters,
 * and bounds the lines one input may run, so that a parser loop is reported, not waited on. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define COUNTERS 16384
#define MAX_LINES 5000000L /* per input; the largest seed runs about 1% of it */

__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t counters[COUNTERS];
static long lines;
static uintptr_t prev;

#ifndef AE_LUA_DIR
#define AE_LUA_DIR "lua"
#endif
#ifndef AE_FUZZ_DIR
#define AE_FUZZ_DIR "spec/fuzz"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static int check_ref;

static void hook(lua_State *T, lua_Debug *ar) {
  if (++lines > MAX_LINES) luaL_error(T, "an input ran more than %d Lua lines: a loop?", (int)MAX_LINES);
  if (!lua_getinfo(T, "S", ar)) return;
  uintptr_t here = (uintptr_t)ar->source * 2654435761u + (uintptr_t)ar->currentline;
  uintptr_t edge = here ^ (prev >> 1);
  prev = here;
  counters[(edge ^ (edge >> 15)) % COUNTERS]++;
}

static void setup(void) {
  L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  if (luaL_dostring(L, "package.path = '" AE_LUA_DIR "/?.lua;" AE_LUA_DIR "/?/init.lua;' .. package.path\n"
                       "return dofile('" AE_FUZZ_DIR "/fuzz_http.lua')")) {
    fprintf(stderr, "fuzz_http: cannot load the checks: %s\n", lua_tostring(L, -1));
    abort();
  }
  check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_sethook(L, hook, LUA_MASKLINE, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L) setup();
  lines = 0;
  prev = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    abort();
  }
  return 0;
}
