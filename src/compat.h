/* compat.h - one C source for Lua 5.4, 5.3, 5.1 and LuaJIT 2.1, in the style of lua-compat-5.3.
 *
 * The bindings are written against the Lua 5.4 C API; this header is the only place that knows
 * which VM's headers they are compiled with (no version check belongs in a .c file). What it
 * gives the older VMs, and how it differs there:
 *
 *   5.3, 5.1, LuaJIT   lua_newuserdatauv, lua_setiuservalue/lua_getiuservalue: the user values
 *                      live in one table (the userdata's uservalue on 5.3, its environment on
 *                      5.1), so any value can be stored, as on 5.4
 *   5.1, LuaJIT        LUA_OK, lua_Unsigned, lua_absindex, lua_rawlen, luaL_len (raw length:
 *                      5.1 tables have no __len), lua_rawgetp/lua_rawsetp, luaL_tolstring,
 *                      lua_isinteger (a number with an integral value in lua_Integer's range),
 *                      lua_stringtonumber, lua_rotate, typed lua_rawget/lua_rawgeti/
 *                      lua_getfield/lua_gettable (they return the value's type),
 *                      luaL_buffinitsize/luaL_pushresultsize (the buffer is a userdata at the
 *                      top of the stack until luaL_pushresultsize replaces it with the string)
 *   5.1 only           luaL_setfuncs, luaL_newlib, luaL_setmetatable, luaL_testudata,
 *                      lua_tointegerx (LuaJIT 2.1's own headers declare these)
 *
 * Integers: on 5.1 and LuaJIT every number is a double, lua_Integer is only the C type that
 * lua_pushinteger converts from, and integers beyond 2^53 are rounded (docs/embedding.md). */
#ifndef AE_COMPAT_H
#define AE_COMPAT_H

#include <lua.h>
#include <lauxlib.h>
#include <string.h>

/* LuaJIT 2.1 is a 5.1 whose lauxlib.h already has some 5.2 functions (luaL_newlib among them). */
#if LUA_VERSION_NUM == 501 && defined(luaL_newlib)
#define AE_LUAJIT_AUX 1
#else
#define AE_LUAJIT_AUX 0
#endif

/* ---- 5.1 and LuaJIT ---------------------------------------------------------------------- */
#if LUA_VERSION_NUM < 502

#define LUA_OK 0
typedef size_t lua_Unsigned; /* lua_Integer is ptrdiff_t there */

#define lua_rawlen(L, i) lua_objlen((L), (i))
#define luaL_len(L, i) ((lua_Integer)lua_objlen((L), (i)))

static inline int compat_absindex(lua_State *L, int i) {
  return (i > 0 || i <= LUA_REGISTRYINDEX) ? i : lua_gettop(L) + i + 1;
}
#define lua_absindex compat_absindex

/* The 5.3 getters return the type of the value they pushed. */
#define lua_rawget(L, i) (lua_rawget((L), (i)), lua_type((L), -1))
#define lua_rawgeti(L, i, n) (lua_rawgeti((L), (i), (int)(n)), lua_type((L), -1))
#define lua_getfield(L, i, k) (lua_getfield((L), (i), (k)), lua_type((L), -1))
#define lua_gettable(L, i) (lua_gettable((L), (i)), lua_type((L), -1))

static inline int compat_rawgetp(lua_State *L, int i, const void *p) {
  i = lua_absindex(L, i);
  lua_pushlightuserdata(L, (void *)p);
  return lua_rawget(L, i);
}
#define lua_rawgetp compat_rawgetp

static inline void compat_rawsetp(lua_State *L, int i, const void *p) {
  i = lua_absindex(L, i);
  lua_pushlightuserdata(L, (void *)p);
  lua_insert(L, -2);
  lua_rawset(L, i);
}
#define lua_rawsetp compat_rawsetp

/* A number whose value is integral and representable as a lua_Integer. */
static inline int compat_isinteger(lua_State *L, int i) {
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  lua_Number n = lua_tonumber(L, i);
  return n >= -0x1p63 && n < 0x1p63 && (lua_Number)(lua_Integer)n == n;
}
#define lua_isinteger compat_isinteger

/* Pushes the number the whole string s spells and returns strlen(s) + 1, or pushes nothing and
 * returns 0. */
static inline size_t compat_stringtonumber(lua_State *L, const char *s) {
  lua_pushstring(L, s);
  if (lua_isnumber(L, -1)) {
    lua_Number n = lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_pushnumber(L, n);
    return strlen(s) + 1;
  }
  lua_pop(L, 1);
  return 0;
}
#define lua_stringtonumber compat_stringtonumber

static inline void compat_reverse(lua_State *L, int a, int b) {
  for (; a < b; a++, b--) {
    lua_pushvalue(L, a);
    lua_pushvalue(L, b);
    lua_replace(L, a);
    lua_replace(L, b);
  }
}

/* Rotates the elements from i to the top n positions towards the top (n < 0: towards i). */
static inline void compat_rotate(lua_State *L, int i, int n) {
  i = lua_absindex(L, i);
  int count = lua_gettop(L) - i + 1;
  if (n < 0) n += count;
  if (n > 0 && n < count) {
    luaL_checkstack(L, 2, "not enough stack slots");
    n = count - n;
    compat_reverse(L, i, i + n - 1);
    compat_reverse(L, i + n, i + count - 1);
    compat_reverse(L, i, i + count - 1);
  }
}
#define lua_rotate compat_rotate

/* luaL_tolstring: __tostring when there is one, else what print shows. */
static inline const char *compat_tolstring(lua_State *L, int i, size_t *len) {
  if (!luaL_callmeta(L, i, "__tostring")) {
    switch (lua_type(L, i)) {
    case LUA_TNUMBER:
    case LUA_TSTRING:
      lua_pushvalue(L, i);
      break;
    case LUA_TBOOLEAN:
      lua_pushstring(L, lua_toboolean(L, i) ? "true" : "false");
      break;
    case LUA_TNIL:
      lua_pushliteral(L, "nil");
      break;
    default:
      lua_pushfstring(L, "%s: %p", luaL_typename(L, i), lua_topointer(L, i));
      break;
    }
  }
  return lua_tolstring(L, -1, len);
}
#define luaL_tolstring compat_tolstring

/* A buffer of sz bytes that the caller fills through the returned pointer: a userdata at the
 * top of the stack, which luaL_pushresultsize replaces with the string. Nothing else may be
 * pushed in between (5.2+ allow no more than balanced use either). */
static inline char *compat_buffinitsize(lua_State *L, luaL_Buffer *b, size_t sz) {
  luaL_buffinit(L, b);
  return (char *)lua_newuserdata(L, sz);
}
static inline void compat_pushresultsize(luaL_Buffer *b, size_t sz) {
  lua_State *L = b->L;
  lua_pushlstring(L, (const char *)lua_touserdata(L, -1), sz);
  lua_remove(L, -2);
}
#define luaL_buffinitsize compat_buffinitsize
#define luaL_pushresultsize compat_pushresultsize

#endif /* < 502 */

/* ---- 5.1 without LuaJIT's additions ------------------------------------------------------ */
#if LUA_VERSION_NUM < 502 && !AE_LUAJIT_AUX

static inline void compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name; l++) {
    for (int i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
#define luaL_setfuncs compat_setfuncs

static inline void compat_setmetatable(lua_State *L, const char *name) {
  luaL_getmetatable(L, name);
  lua_setmetatable(L, -2);
}
#define luaL_setmetatable compat_setmetatable

static inline void *compat_testudata(lua_State *L, int i, const char *name) {
  void *p = lua_touserdata(L, i);
  if (!p || !lua_getmetatable(L, i)) return NULL;
  luaL_getmetatable(L, name);
  int same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}
#define luaL_testudata compat_testudata

static inline lua_Integer compat_tointegerx(lua_State *L, int i, int *isnum) {
  lua_Integer n = lua_tointeger(L, i);
  if (isnum) *isnum = lua_isnumber(L, i);
  return n;
}
#define lua_tointegerx compat_tointegerx

#endif

#ifndef luaL_newlib
#define luaL_newlib(L, l) (lua_createtable((L), 0, (int)(sizeof(l) / sizeof((l)[0]) - 1)), luaL_setfuncs((L), (l), 0))
#endif

/* ---- 5.3, 5.1 and LuaJIT: user values in one table ---------------------------------------- */
#if LUA_VERSION_NUM < 504

#if LUA_VERSION_NUM < 502
#define compat_setuv lua_setfenv
#define compat_getuv lua_getfenv
#else
#define compat_setuv lua_setuservalue
#define compat_getuv lua_getuservalue
#endif

/* A userdata whose nuv user values (when nuv > 0) live in a table set as its uservalue, with
 * nuv at index 0 (on 5.1 a userdata always has a table: its creator's environment). */
static inline void *compat_newuserdatauv(lua_State *L, size_t sz, int nuv) {
  void *p = lua_newuserdata(L, sz);
  if (nuv > 0) {
    lua_createtable(L, nuv + 1, 0);
    lua_pushinteger(L, nuv);
    lua_rawseti(L, -2, 0);
    compat_setuv(L, -2);
  }
  return p;
}

/* Pushes the user value table of the userdata at i and returns 1 when it has slot n, else pushes
 * nothing and returns 0. */
static inline int compat_uvslot(lua_State *L, int i, int n) {
  compat_getuv(L, i);
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_rawgeti(L, -1, 0);
    lua_Integer have = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    if (n >= 1 && n <= have) return 1;
  }
  lua_pop(L, 1);
  return 0;
}
#define lua_newuserdatauv compat_newuserdatauv

/* Pops a value and stores it as user value n of the userdata at i; 0 when it has no such slot. */
static inline int compat_setiuservalue(lua_State *L, int i, int n) {
  i = lua_absindex(L, i);
  if (!compat_uvslot(L, i, n)) {
    lua_pop(L, 1);
    return 0;
  }
  lua_insert(L, -2);
  lua_rawseti(L, -2, n);
  lua_pop(L, 1);
  return 1;
}
#define lua_setiuservalue compat_setiuservalue

/* Pushes user value n of the userdata at i (nil when there is none) and returns its type. */
static inline int compat_getiuservalue(lua_State *L, int i, int n) {
  if (!compat_uvslot(L, i, n)) {
    lua_pushnil(L);
    return LUA_TNONE;
  }
  int t = lua_rawgeti(L, -1, n);
  lua_remove(L, -2);
  return t;
}
#define lua_getiuservalue compat_getiuservalue

#endif /* < 504 */

/* ---- every VM ------------------------------------------------------------------------------ */

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
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, name);
  }
  lua_pop(L, 1);
}

/* luaL_checkudata(L, idx, name) for a class made by compat_newclass, passing `name` itself (the
 * same pointer). Anything but a match takes luaL_checkudata's way, and so its error message. */
static inline void *compat_checkudata(lua_State *L, int idx, const char *name) {
  void *p = lua_touserdata(L, idx);
  if (p && lua_getmetatable(L, idx)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, name);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same) return p;
  }
  return luaL_checkudata(L, idx, name);
}

#endif
