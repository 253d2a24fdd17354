/* core.c - luaopen_anthropic_core: the C core's module table. */
#include <curl/curl.h>

#include "core.h"

#define AE_VERSION "0.1.0"

int luaopen_anthropic_core(lua_State *L);

int luaopen_anthropic_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, AE_VERSION);
  lua_setfield(L, -2, "VERSION");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  ae_open_key(L);
  ae_open_engine(L);
  return 1;
}
