/* core.c - luaopen_anthropic_core: the C core's module table. */
#include <curl/curl.h>
#include <errno.h>
#include <time.h>

#include "core.h"
#include "curl_alloc.h"

#define AE_VERSION "0.1.0"

int luaopen_anthropic_core(lua_State *L);

/* core.now() -> seconds on the monotonic clock (for deadlines; never goes back) */
static int core_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.sleep(s): sleep s seconds (for timers when no transfer is in flight; tasks.lua) */
static int core_sleep(lua_State *L) {
  double t = luaL_checknumber(L, 1);
  if (t > 0) {
    struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  return 0;
}

/* core.libcurl_wiping() -> whether libcurl frees through the wiping allocator (curl_alloc.c) */
static int core_libcurl_wiping(lua_State *L) {
  lua_pushboolean(L, ae_curl_global_init());
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
  lua_pushcfunction(L, core_sleep);
  lua_setfield(L, -2, "sleep");
  lua_pushcfunction(L, core_libcurl_wiping);
  lua_setfield(L, -2, "libcurl_wiping");
  lua_pushcfunction(L, ae_json_decode);
  lua_setfield(L, -2, "json_decode");
  lua_pushcfunction(L, ae_json_encode);
  lua_setfield(L, -2, "json_encode");
  luaL_newmetatable(L, AE_JSON_ARRAY_MT);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__json");
  lua_setfield(L, -2, "json_array_mt");
  lua_pushlightuserdata(L, NULL); /* json.null: the NULL light userdata, as lua-cjson's null */
  lua_setfield(L, -2, "json_null");
  ae_open_key(L);
  ae_open_engine(L);
  ae_open_textbuf(L);
  ae_open_signal(L);
  return 1;
}
