/* lkey.c - key resolution and the key userdata. Lua only ever sees a hint of the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

typedef struct lkey {
  ae_secret *s;    /* NULL once closed */
  int bearer;      /* send as Authorization: Bearer */
  char source[96];
} lkey;

static lkey *tokey(lua_State *L) { return (lkey *)compat_checkudata(L, 1, AE_KEY_MT); }

static int key_close(lua_State *L) {
  lkey *k = tokey(L);
  ae_secret_free(k->s);
  k->s = NULL;
  return 0;
}

static int key_tostring(lua_State *L) {
  lkey *k = tokey(L);
  if (!k->s) {
    lua_pushliteral(L, "anthropic.key (closed)");
  } else {
    char hint[64];
    ae_secret_hint(k->s, hint, sizeof hint);
    lua_pushfstring(L, "anthropic.key (%s)", hint);
  }
  return 1;
}

static lkey *checkopen(lua_State *L) {
  lkey *k = tokey(L);
  if (!k->s) luaL_error(L, "attempt to use a closed key");
  return k;
}

static int key_hint(lua_State *L) {
  char hint[64];
  ae_secret_hint(checkopen(L)->s, hint, sizeof hint);
  lua_pushstring(L, hint);
  return 1;
}

static int key_source(lua_State *L) {
  lua_pushstring(L, checkopen(L)->source);
  return 1;
}

static int key_scheme(lua_State *L) {
  lua_pushstring(L, checkopen(L)->bearer ? "bearer" : "x-api-key");
  return 1;
}

static int key_kind(lua_State *L) {
  lua_pushstring(L, ae_secret_kind(checkopen(L)->s) == AE_KEY_ADMIN ? "admin" : "api");
  return 1;
}

ae_secret *ae_check_key(lua_State *L, int idx, int *bearer) {
  if (lua_isnoneornil(L, idx)) return NULL;
  lkey *k = (lkey *)compat_checkudata(L, idx, AE_KEY_MT);
  if (!k->s) luaL_error(L, "attempt to use a closed key");
  *bearer = k->bearer;
  return k->s;
}

/* ---- resolution ---- */

typedef struct resolve {
  lua_State *L;
  int opts;            /* index of the options table */
  int admin;
  char tried[1024];    /* "api_key option, ..." for the missing-key message */
  char err[AE_ERRLEN];
} resolve;

/* Put `prefix` in front of the error message already in r->err. */
static void prefix_err(resolve *r, const char *prefix) {
  char msg[AE_ERRLEN];
  snprintf(msg, sizeof msg, "%.100s%.400s", prefix, r->err);
  memcpy(r->err, msg, sizeof msg);
}

static void tried(resolve *r, const char *what) {
  size_t n = strlen(r->tried);
  snprintf(r->tried + n, sizeof r->tried - n, "%s%s", n ? ", " : "", what);
}

/* A string option, with its length: a Lua string may hold a NUL byte, which C would take as
 * its end (a key cut short there, silently). */
static const char *optstring(resolve *r, const char *field, size_t *len) {
  lua_getfield(r->L, r->opts, field);
  const char *s = NULL;
  *len = 0;
  if (!lua_isnil(r->L, -1)) {
    if (lua_type(r->L, -1) != LUA_TSTRING)
      luaL_error(r->L, "option '%s' must be a string (got %s)", field, luaL_typename(r->L, -1));
    s = lua_tolstring(r->L, -1, len);
  }
  lua_pop(r->L, 1); /* the string stays reachable from the options table */
  return s;
}

static ae_secret *from_command(resolve *r) {
  lua_State *L = r->L;
  lua_getfield(L, r->opts, "key_command");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  if (!lua_istable(L, -1))
    luaL_error(L, "option 'key_command' must be an argv table such as {\"pass\", \"show\", \"anthropic\"} "
                  "(it runs without a shell)");
  int n = (int)lua_rawlen(L, -1);
  if (n < 1) luaL_error(L, "option 'key_command' is empty; give the program and its arguments");
  char **argv = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *argv, 0); /* freed by the GC */
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "key_command[%d] must be a string", i);
    argv[i - 1] = (char *)lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the argv table */
  }
  argv[n] = NULL;
  lua_getfield(L, r->opts, "key_command_timeout");
  double timeout = luaL_optnumber(L, -1, 10.0);
  if (!(timeout > 0)) luaL_error(L, "option 'key_command_timeout' must be > 0 seconds");
  lua_pop(L, 1);
  ae_secret *s = ae_secret_from_command(argv, timeout, r->err, sizeof r->err);
  lua_pop(L, 2);
  return s;
}

static ae_secret *from_fn(resolve *r) {
  lua_State *L = r->L;
  lua_getfield(L, r->opts, "key_fn");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  if (!lua_isfunction(L, -1)) luaL_error(L, "option 'key_fn' must be a function returning the key");
  ae_secret *s = NULL;
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    ae_scrub(lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object)", NULL, r->err,
             sizeof r->err);
    prefix_err(r, "key_fn failed: ");
  } else if (lua_type(L, -1) != LUA_TSTRING) {
    snprintf(r->err, sizeof r->err, "key_fn returned %s; it must return the key as a string",
             luaL_typename(L, -1));
  } else {
    size_t len;
    const char *k = lua_tolstring(L, -1, &len);
    s = ae_secret_new(k, len, r->err, sizeof r->err);
  }
  lua_pop(L, 1);
  return s;
}

/* Walks the sources in order; returns the first key given, or NULL with r->err set (an error
 * in a source that was given) or empty (no source had a key). */
static ae_secret *find_key(resolve *r, char *source, size_t srclen, int *bearer) {
  lua_State *L = r->L;
  const char *v;
  size_t len;
  ae_secret *s;
  *bearer = 0;
  tried(r, "api_key option");
  if ((v = optstring(r, "api_key", &len))) {
    snprintf(source, srclen, "api_key");
    return ae_secret_new(v, len, r->err, sizeof r->err); /* a NUL is a control byte: refused */
  }
  tried(r, "key_file option");
  if ((v = optstring(r, "key_file", &len))) {
    snprintf(source, srclen, "key_file");
    if (strlen(v) != len) { /* another file's name than the one given */
      snprintf(r->err, sizeof r->err, "the path contains a NUL byte at byte %d; remove it",
               (int)strlen(v) + 1);
      return NULL;
    }
    return ae_secret_from_file(v, r->err, sizeof r->err);
  }
  tried(r, "key_command option");
  snprintf(source, srclen, "key_command");
  if ((s = from_command(r)) || r->err[0]) return s;
  tried(r, "key_fn option");
  snprintf(source, srclen, "key_fn");
  if ((s = from_fn(r)) || r->err[0]) return s;

  const char *dotenv = NULL;
  lua_getfield(L, r->opts, "dotenv");
  if (lua_type(L, -1) == LUA_TSTRING) dotenv = lua_tostring(L, -1);
  else if (!lua_isnil(L, -1)) luaL_error(L, "option 'dotenv' must be a path string");
  lua_pop(L, 1);

  lua_getfield(L, r->opts, "env");
  lua_getfield(L, r->opts, "bearer_env");
  int env = lua_gettop(L) - 1, bearer_env = lua_gettop(L);
  int n = lua_istable(L, env) ? (int)lua_rawlen(L, env) : 0;
  /* environment first, then the dotenv file, for the same names */
  for (int pass = 0; pass < 2 && !s && !r->err[0]; pass++) {
    for (int i = 1; i <= n && !s && !r->err[0]; i++) {
      lua_rawgeti(L, env, i);
      const char *name = luaL_checkstring(L, -1);
      int is_bearer = 0;
      if (lua_istable(L, bearer_env)) {
        lua_getfield(L, bearer_env, name);
        is_bearer = lua_toboolean(L, -1);
        lua_pop(L, 1);
      }
      if (pass == 0) {
        lua_pushfstring(L, "environment %s", name);
        tried(r, lua_tostring(L, -1));
        lua_pop(L, 1);
        const char *val = getenv(name);
        if (val && *val) {
          snprintf(source, srclen, "env:%s", name);
          s = ae_secret_new(val, strlen(val), r->err, sizeof r->err);
          if (!s) {
            char pre[128];
            snprintf(pre, sizeof pre, "%.100s: ", name);
            prefix_err(r, pre);
          }
        }
      } else if (dotenv) {
        lua_pushfstring(L, "%s in %s", name, dotenv);
        tried(r, lua_tostring(L, -1));
        lua_pop(L, 1);
        snprintf(source, srclen, "dotenv:%s", name);
        s = ae_secret_from_dotenv(dotenv, name, r->err, sizeof r->err);
      }
      if (s) *bearer = is_bearer;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 2);
  return s;
}

static int fail(lua_State *L, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushliteral(L, "key");
  return 3;
}

/* core.load_key(opts) -> key | nil, message, "key" */
static int load_key(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  resolve r;
  memset(&r, 0, sizeof r);
  r.L = L;
  r.opts = 1;
  lua_getfield(L, 1, "admin");
  r.admin = lua_toboolean(L, -1);
  lua_pop(L, 1);

  lkey *k = lua_newuserdatauv(L, sizeof *k, 0); /* closed until a key is in it */
  memset(k, 0, sizeof *k);
  luaL_setmetatable(L, AE_KEY_MT);
  int kidx = lua_gettop(L);
  int bearer = 0;
  ae_secret *s = find_key(&r, k->source, sizeof k->source, &bearer);

  if (!s && r.err[0]) {
    lua_pushfstring(L, "cannot load the API key from %s: %s", k->source, r.err);
    return fail(L, lua_tostring(L, -1));
  }
  if (!s) {
    lua_pushfstring(L,
                    "no API key found (tried: %s); set %s or pass api_key, key_file or "
                    "key_command to anthropic.%s()",
                    r.tried, r.admin ? "ANTHROPIC_ADMIN_KEY" : "ANTHROPIC_API_KEY",
                    r.admin ? "admin" : "new");
    return fail(L, lua_tostring(L, -1));
  }
  int kind = ae_secret_kind(s);
  if (!r.admin && kind == AE_KEY_ADMIN) {
    ae_secret_free(s);
    lua_pushfstring(L, "the key from %s is an Admin API key (sk-ant-admin...); the Messages client "
                       "needs a regular API key. Use anthropic.admin() for admin keys",
                    k->source);
    return fail(L, lua_tostring(L, -1));
  }
  if (r.admin && kind != AE_KEY_ADMIN && !bearer) {
    ae_secret_free(s);
    lua_pushfstring(L, "the key from %s is not an Admin API key; anthropic.admin() needs an "
                       "sk-ant-admin... key (Console > Settings > Admin keys) or an OAuth token "
                       "with the org:admin scope",
                    k->source);
    return fail(L, lua_tostring(L, -1));
  }
  k->s = s;
  k->bearer = bearer;
  lua_pushvalue(L, kidx);
  return 1;
}

/* core.scrub(s [, key]) -> s without key bytes or sk-ant- tokens */
static int scrub(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  int bearer;
  ae_secret *key = ae_check_key(L, 2, &bearer);
  size_t cap = len * 10 + 64; /* "[redacted]" may be longer than what it replaces */
  char *out = lua_newuserdatauv(L, cap, 0);
  size_t n = ae_scrub(s, key, out, cap);
  lua_pushlstring(L, out, n);
  return 1;
}

static const luaL_Reg key_meta[] = {
    {"__gc", key_close}, {"__close", key_close}, {"__tostring", key_tostring}, {NULL, NULL}};

static const luaL_Reg key_methods[] = {{"hint", key_hint},     {"source", key_source},
                                       {"scheme", key_scheme}, {"kind", key_kind},
                                       {"close", key_close},   {NULL, NULL}};

void ae_open_key(lua_State *L) {
  compat_newclass(L, AE_KEY_MT, key_meta, key_methods);
  lua_pushcfunction(L, load_key);
  lua_setfield(L, -2, "load_key");
  lua_pushcfunction(L, scrub);
  lua_setfield(L, -2, "scrub");
}
