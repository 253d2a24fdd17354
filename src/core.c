/* core.c - luaopen_anthropic_core: the C core's module table. */
#include <curl/curl.h>
#include <time.h>

#include "core.h"

#define AE_VERSION "0.1.0"

int luaopen_anthropic_core(lua_State *L);

/* core.now() -> seconds on the monotonic clock (for deadlines; never goes back) */
static int core_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

int luaopen_anthropic_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, AE_VERSION);
  lua_setfield(L, -2, "VERSION");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  lua_pushcfunction(L, core_now);
  lua_setfield(L, -2, "now");
  ae_open_key(L);
  ae_open_engine(L);
  return 1;
}
