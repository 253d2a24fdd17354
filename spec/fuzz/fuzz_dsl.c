/* fuzz_dsl.c - libFuzzer target for the organization-file loader and validator
 * (lua/anthropic/reconcile/dsl.lua: the sandbox, the block functions, the checks of validate.lua
 * and the names of names.lua), run inside an embedded Lua 5.4:
 *   make build/fuzz_dsl && build/fuzz_dsl -max_total_time=30 spec/fuzz/dsl
 * The file is evaluated in this process (dsl.evaluate: the part load_string runs in its child
 * process), with a small instruction budget, and with an allocator capped at CAP bytes so that
 * a file that allocates without end gets Lua's memory error as the child would under its
 * limit. The rules are checked in Lua, in spec/fuzz/fuzz_dsl.lua (see there): whatever the text,
 * evaluate returns a configuration or an error object of kind config whose every line is
 * "org.lua:LINE: ...", never raises; the host's string metatable and hook are left as they were;
 * what a file declares obeys the rules for names; the same text gives the same result twice, and
 * the result survives the child's wire format. */
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

#define CAP ((size_t)256 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static int check_ref;
static size_t in_use;

/* Lua's allocator with a cap: past CAP, a request for more fails (Lua raises its memory error). */
static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  void *p;
  size_t old = ptr ? osize : 0;
  (void)ud;
  if (nsize == 0) {
    free(ptr);
    in_use -= old;
    return NULL;
  }
  if (nsize > old && in_use - old + nsize > CAP) return NULL;
  p = realloc(ptr, nsize);
  if (p) in_use = in_use - old + nsize;
  return p;
}

static void setup(void) {
  L = lua_newstate(capped_alloc, NULL);
  if (!L) abort();
  luaL_openlibs(L);
  if (luaL_dostring(L, "package.path = '" AE_LUA_DIR "/?.lua;" AE_LUA_DIR "/?/init.lua;' .. package.path\n"
                       "return dofile('" AE_FUZZ_DIR "/fuzz_dsl.lua')")) {
    fprintf(stderr, "fuzz_dsl: cannot load the checks: %s\n", lua_tostring(L, -1));
    abort();
  }
  check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int rc;
  if (!L) setup();
  lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
  lua_pushlstring(L, (const char *)data, size);
  rc = lua_pcall(L, 1, 0, 0);
  if (rc != LUA_OK) {
    fprintf(stderr, "%s\n", rc == LUA_ERRMEM ? "fuzz_dsl: out of memory in the checks" : lua_tostring(L, -1));
    abort();
  }
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
