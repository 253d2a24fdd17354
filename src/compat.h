/* compat.h - the few Lua 5.1-5.4 differences the bindings use. */
#ifndef AE_COMPAT_H
#define AE_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#define luaL_setfuncs(L, l, n) luaL_register(L, NULL, l)
#define luaL_newlib(L, l) (lua_newtable(L), luaL_register(L, NULL, l))
#define lua_rawlen(L, i) lua_objlen(L, i)
#endif

#if LUA_VERSION_NUM < 504
/* one user value slot, kept in the userdata's environment/uservalue */
static inline void *compat_newuserdatauv(lua_State *L, size_t sz, int nuv) {
  (void)nuv;
  return lua_newuserdata(L, sz);
}
#define lua_newuserdatauv compat_newuserdatauv
#if LUA_VERSION_NUM < 502
#define lua_setiuservalue(L, idx, n) lua_setfenv(L, idx)
#define lua_getiuservalue(L, idx, n) lua_getfenv(L, idx)
#else
#define lua_setiuservalue(L, idx, n) lua_setuservalue(L, idx)
#define lua_getiuservalue(L, idx, n) lua_getuservalue(L, idx)
#endif
#endif

/* Register a class: a metatable named `name` holding `meta` metamethods, with `methods` as
 * __index. Safe to call again on the same state (luaopen may run twice). The metatable is also
 * kept in the registry under the address of `name`, so that compat_checkudata finds it by a raw
 * pointer lookup, where luaL_checkudata looks the name up as a string on every call. */
static inline void compat_newclass(lua_State *L, const char *name, const luaL_Reg *meta,
                                   const luaL_Reg *methods) {
  if (luaL_newmetatable(L, name)) {
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
#if LUA_VERSION_NUM >= 502
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, name);
#endif
  }
  lua_pop(L, 1);
}

/* luaL_checkudata(L, idx, name) for a class made by compat_newclass, passing `name` itself (the
 * same pointer). Anything but a match takes luaL_checkudata's way, and so its error message. */
static inline void *compat_checkudata(lua_State *L, int idx, const char *name) {
#if LUA_VERSION_NUM >= 502
  void *p = lua_touserdata(L, idx);
  if (p && lua_getmetatable(L, idx)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, name);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same) return p;
  }
#endif
  return luaL_checkudata(L, idx, name);
}

#endif
