/* ljsonenc.c - core.json_encode(value) -> text | nil, message: Lua values to JSON for request
 * bodies, the CLI and plans.
 *
 * - Object members come out sorted by name (bytewise), so equal tables give equal text however
 *   they were built: prompt caching matches requests by their exact prefix.
 * - A table whose keys are all whole numbers >= 1 is an array (holes are null); any other table
 *   is an object, whose number keys become names ("1"). An empty table is an object ({}), as
 *   with lua-cjson, unless its metatable has __json = "array" (json.array{}): then it is [].
 *   An array with more holes than values (and an index past 10) is refused rather than padded
 *   with nulls.
 * - Integers, and floats with a whole value, are written exactly; other floats in the shortest of
 *   %.15g and %.17g that reads back the same. NaN and infinities are refused.
 * - nil and lua-cjson's null (a NULL light userdata) are null. Strings are copied byte for byte
 *   with '"', '\\' and control characters escaped.
 * - Functions, other userdata, threads, keys of other types, cycles and more than MAX_DEPTH
 *   nested tables give nil and a message naming the place ("a function at tools[1].handler").
 *
 * Nothing is malloc'd: the text grows in a userdata (on the C stack while it is short), so a
 * memory error raised by Lua midway leaks nothing. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "jtext.h"

#define MAX_DEPTH 200 /* nested tables, as the decoder allows */
#define SMALL 2048    /* text on the C stack before it moves into a userdata */
#define FEW 16        /* object members sorted on the C stack before they take a userdata */

typedef struct je {
  lua_State *L;
  char *buf;
  size_t len, cap;
  int box; /* stack slot of the userdata that holds buf once it outgrew the stack */
  char path[160]; /* where the error is, built while the recursion unwinds */
  int cut;        /* the path's outer steps did not fit */
  const char *why, *hint;
  char why_buf[96];
} je;

static void grow(je *e, size_t need) {
  size_t cap = e->cap * 2;
  while (cap < e->len + need) cap *= 2;
  char *nb = lua_newuserdatauv(e->L, cap, 0); /* may raise: nothing to free */
  memcpy(nb, e->buf, e->len);
  lua_replace(e->L, e->box); /* the old userdata becomes garbage */
  e->buf = nb;
  e->cap = cap;
}

static inline char *room(je *e, size_t n) {
  if (e->cap - e->len < n) grow(e, n);
  return e->buf + e->len;
}

static inline void put(je *e, const char *s, size_t n) {
  memcpy(room(e, n), s, n);
  e->len += n;
}

static inline void putc1(je *e, char c) {
  *room(e, 1) = c;
  e->len++;
}

static int fail(je *e, const char *why, const char *hint) {
  e->why = why;
  e->hint = hint;
  return 0;
}

/* Prepends one step to the error's path: [3] or .name (or ["odd name"] when it is not a word). */
static void at(je *e, const char *step, size_t n, int index) {
  char seg[80];
  int len;
  if (index) len = snprintf(seg, sizeof seg, "[%.*s]", (int)n, step);
  else {
    int word = n > 0 && n <= 40 && !(step[0] >= '0' && step[0] <= '9');
    for (size_t i = 0; word && i < n; i++) {
      char c = step[i];
      word = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
    if (word) len = snprintf(seg, sizeof seg, ".%.*s", (int)n, step);
    else len = snprintf(seg, sizeof seg, "[\"%.*s\"]", n > 40 ? 40 : (int)n, step);
  }
  size_t have = strlen(e->path);
  if (len < 0 || (size_t)len + have >= sizeof e->path) { /* keep the inner part */
    e->cut = 1;
    return;
  }
  memmove(e->path + len, e->path, have + 1);
  memcpy(e->path, seg, (size_t)len);
}

/* ---- scalars ---- */

static size_t fmt_int(char *out, lua_Integer v) {
  char tmp[24];
  size_t n = 0;
  lua_Unsigned u = v < 0 ? (lua_Unsigned)0 - (lua_Unsigned)v : (lua_Unsigned)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t k = 0;
  if (v < 0) out[k++] = '-';
  while (n) out[k++] = tmp[--n];
  return k;
}

/* The number at idx into out (room for 32 bytes); 0 when it is NaN or infinite. */
static size_t fmt_number(lua_State *L, int idx, char *out) {
  if (lua_isinteger(L, idx)) return fmt_int(out, lua_tointeger(L, idx));
  lua_Number x = lua_tonumber(L, idx);
  if (!isfinite(x)) return 0;
  if (x == floor(x) && x >= -0x1p63 && x < 0x1p63) return fmt_int(out, (lua_Integer)x);
  int n = snprintf(out, 32, "%.15g", (double)x);
  if (strtod(out, NULL) != (double)x) n = snprintf(out, 32, "%.17g", (double)x);
  return (size_t)n;
}

static void put_string(je *e, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const char *p = s, *end = s + n;
  putc1(e, '"');
  while (p < end) {
    size_t plain = ae_json_plain(p, end);
    put(e, p, plain);
    p += plain;
    if (p >= end) break;
    unsigned char c = (unsigned char)*p++;
    char esc[6] = {'\\', 0};
    size_t k = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        k = 6;
    }
    put(e, esc, k);
  }
  putc1(e, '"');
}

/* ---- tables ---- */

static int value(je *e, int idx, int depth);

typedef struct member {
  const char *name; /* the member's name: a string key, or a number key written as text */
  size_t len;
  int slot; /* stack slot of the name; the value is at slot + 1 */
} member;

static int by_name(const void *a, const void *b) {
  const member *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->name, y->name, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void sort_members(member *m, size_t n) {
  if (n > FEW) {
    qsort(m, n, sizeof *m, by_name);
    return;
  }
  for (size_t i = 1; i < n; i++) { /* insertion sort: the usual objects have a handful of members */
    member x = m[i];
    size_t j = i;
    while (j > 0 && by_name(&m[j - 1], &x) > 0) {
      m[j] = m[j - 1];
      j--;
    }
    m[j] = x;
  }
}

/* The members go on the stack as name, value pairs (a number key replaced by its text), then
 * out in name order. */
static int object(je *e, int t, size_t count, int depth) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  if (count > (size_t)(INT_MAX / 2 - 8) || !lua_checkstack(L, (int)(2 * count) + 8))
    return fail(e, "an object with too many members", NULL);
  member few[FEW];
  member *m = count <= FEW ? few : lua_newuserdatauv(L, count * sizeof *m, 0);
  size_t n = 0;
  int more = 1;
  lua_pushnil(L);
  while (n < count && (more = lua_next(L, t)) != 0) { /* key, value */
    int ktype = lua_type(L, -2);
    if (ktype == LUA_TNUMBER) {
      char num[32];
      size_t len = fmt_number(L, -2, num);
      if (!len) return lua_settop(L, top), fail(e, "an infinite number as a member name", NULL);
      lua_pushvalue(L, -2);          /* key, value, key */
      lua_pushlstring(L, num, len);  /* key, value, key, name */
      lua_replace(L, -4);            /* name, value, key */
    } else if (ktype == LUA_TSTRING) {
      lua_pushvalue(L, -2); /* key, value, key */
    } else {
      e->why = e->why_buf;
      snprintf(e->why_buf, sizeof e->why_buf, "a %s as a member name", luaL_typename(L, -2));
      e->hint = "member names are strings (or numbers, written as text)";
      lua_settop(L, top);
      return 0;
    }
    member *x = &m[n++];
    x->slot = lua_gettop(L) - 2;
    x->name = lua_tolstring(L, x->slot, &x->len);
  }
  if (more) lua_pop(L, 1); /* the last key */
  sort_members(m, n);
  putc1(e, '{');
  for (size_t i = 0; i < n; i++) {
    if (i) putc1(e, ',');
    put_string(e, m[i].name, m[i].len);
    putc1(e, ':');
    if (!value(e, m[i].slot + 1, depth)) {
      at(e, m[i].name, m[i].len, 0);
      lua_settop(L, top);
      return 0;
    }
  }
  putc1(e, '}');
  lua_settop(L, top);
  return 1;
}

static int array(je *e, int t, lua_Integer max, int depth) {
  lua_State *L = e->L;
  putc1(e, '[');
  for (lua_Integer i = 1; i <= max; i++) {
    if (i > 1) putc1(e, ',');
    lua_rawgeti(L, t, i);
    int ok = value(e, lua_gettop(L), depth);
    lua_pop(L, 1);
    if (!ok) {
      char n[24];
      at(e, n, fmt_int(n, i), 1);
      return 0;
    }
  }
  putc1(e, ']');
  return 1;
}

/* An empty table is {} unless its metatable says __json = "array" (json.array). */
static int marked_array(lua_State *L, int t) {
  if (!lua_getmetatable(L, t)) return 0;
  lua_getfield(L, -1, "__json");
  const char *kind = lua_tostring(L, -1);
  int array = kind && strcmp(kind, "array") == 0;
  lua_pop(L, 2);
  return array;
}

static int table(je *e, int t, int depth) {
  lua_State *L = e->L;
  if (depth >= MAX_DEPTH) return fail(e, "more than 200 nested tables", "does a table contain itself?");
  if (!lua_checkstack(L, 4)) return fail(e, "tables nested this deeply", NULL);
  /* Array or object? Count the members and see whether every key is a whole number >= 1. */
  size_t count = 0;
  lua_Integer max = 0;
  int is_array = 1;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    count++;
    if (is_array) {
      if (lua_isinteger(L, -1)) {
        lua_Integer k = lua_tointeger(L, -1);
        if (k >= 1) {
          if (k > max) max = k;
          continue;
        }
      } else if (lua_type(L, -1) == LUA_TNUMBER) {
        lua_Number k = lua_tonumber(L, -1);
        if (k >= 1 && k == floor(k) && k < 0x1p63) {
          if ((lua_Integer)k > max) max = (lua_Integer)k;
          continue;
        }
      }
      is_array = 0;
    }
  }
  if (count == 0 && marked_array(L, t)) {
    put(e, "[]", 2);
    return 1;
  }
  if (count == 0 || !is_array) return object(e, t, count, depth + 1);
  if ((size_t)max > 2 * count && max > 10) {
    e->why = e->why_buf;
    snprintf(e->why_buf, sizeof e->why_buf, "a sparse array (%zu values, the largest index %lld)", count,
             (long long)max);
    e->hint = "fill the gaps with json.null, or use string keys";
    return 0;
  }
  return array(e, t, max, depth + 1);
}

static int value(je *e, int idx, int depth) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      put_string(e, s, n);
      return 1;
    }
    case LUA_TNUMBER: {
      size_t n = fmt_number(L, idx, room(e, 32));
      if (!n) return fail(e, "NaN or infinity", "JSON numbers are finite");
      e->len += n;
      return 1;
    }
    case LUA_TTABLE: return table(e, idx, depth);
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) put(e, "true", 4);
      else put(e, "false", 5);
      return 1;
    case LUA_TNIL: put(e, "null", 4); return 1;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { /* lua-cjson's null */
        put(e, "null", 4);
        return 1;
      }
      /* fall through */
    default:
      e->why = e->why_buf;
      snprintf(e->why_buf, sizeof e->why_buf, "a %s", luaL_typename(L, idx));
      e->hint = "JSON holds only strings, numbers, booleans, tables and null";
      return 0;
  }
}

int ae_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  char small[SMALL];
  je e = {.L = L, .buf = small, .cap = sizeof small};
  lua_pushnil(L); /* the box slot: a userdata once the text outgrows `small` */
  e.box = lua_gettop(L);
  if (!value(&e, 1, 0)) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot encode %s%s%s%s%s%s", e.why, e.path[0] ? " at " : "", e.cut ? "..." : "",
                    e.path[0] == '.' ? e.path + 1 : e.path, e.hint ? ": " : "", e.hint ? e.hint : "");
    return 2;
  }
  lua_pushlstring(L, e.buf, e.len);
  return 1;
}
