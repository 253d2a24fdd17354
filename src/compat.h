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
 * __index. Safe to call again on the same state (luaopen may run twice). */
static inline void compat_newclass(lua_State *L, const char *name, const luaL_Reg *meta,
                                   const luaL_Reg *methods) {
  if (luaL_newmetatable(L, name)) {
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

#endif
