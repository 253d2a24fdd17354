/* fuzz_query.c - libFuzzer target for the URL query builder (lua/anthropic/query.lua) and its
 * escaping, run inside an embedded Lua 5.4, with the results handed to libcurl's URL parser
 * (the engine checks every URL with curl_url before a request).
 *   make build/fuzz_query && build/fuzz_query -max_total_time=30 spec/fuzz/query
 * The input is read as a little program: byte 0 picks how many keys, then for each key a
 * length-prefixed name and a typed value (string, integer, float, boolean, array of those,
 * empty table, hole-y array, or something that is not a query value). Checks:
 *  - build() raises only the documented argument errors ("query parameter 'K' must be a
 *    string, number or boolean (got T)", "... must be a finite number (got V)"), for the
 *    first bad value in key order, and nothing else;
 *  - otherwise it returns nil exactly when there is no pair, else text made only of unreserved
 *    characters, %XX escapes (upper-case hex, never of an unreserved character), '=', '&' and
 *    '[]'; decoding each pair gives back the exact key and value; keys come out sorted (byte
 *    order) and array items in array order, up to the first hole;
 *  - numbers: integers in decimal; integral floats within int64 as integers; other floats read
 *    back (strtod) as the very same double;
 *  - escape() of any string decodes to the string; libcurl keeps the query and an escaped path
 *    segment unchanged (except the dot segments "." and "..", which the resource layer refuses). */
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AE_LUA_DIR
#define AE_LUA_DIR "lua"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEYS 8
#define MAX_ITEMS 6
#define FAIL(...) (fprintf(stderr, "fuzz_query: " __VA_ARGS__), fputc('\n', stderr), abort())

/* ---------- reading the input ---------- */

typedef struct rd {
  const uint8_t *p;
  size_t n;
} rd;

static uint8_t byte(rd *r) {
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}

static uint64_t u64(rd *r) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | byte(r);
  return v;
}

/* A length byte (0-63), then that many bytes (fewer at the end of the input). */
typedef struct str {
  const char *s;
  size_t len;
} str;

static str text(rd *r) {
  size_t len = byte(r) & 63;
  str t = {(const char *)r->p, len < r->n ? len : r->n};
  r->p += t.len;
  r->n -= t.len;
  return t;
}

/* ---------- the values ---------- */

enum { V_STR, V_INT, V_FLT, V_BOOL, V_BAD, V_NIL };

typedef struct item {
  int type;
  str s;
  long long i;
  double f;
  int b; /* V_BOOL: the value; V_BAD: 1 a table (in arrays), 0 a function */
} item;

typedef struct param {
  str key;
  int array, nitems; /* an array sends its items up to the first V_NIL (ipairs) */
  item items[MAX_ITEMS];
} param;

static item scalar(rd *r, int type) {
  item it;
  memset(&it, 0, sizeof it);
  it.type = type;
  switch (type) {
  case V_STR: it.s = text(r); break;
  case V_INT: it.i = (byte(r) & 1) ? (long long)u64(r) : (int8_t)byte(r); break;
  case V_FLT: {
    uint8_t how = byte(r);
    if (how & 1) { /* any bit pattern: NaN, infinities, subnormals, huge */
      uint64_t bits = u64(r);
      memcpy(&it.f, &bits, sizeof it.f);
    } else { /* friendlier: a small integer scaled by a power of two or of ten */
      int hi = byte(r), lo = byte(r);
      int16_t m = (int16_t)(uint16_t)(hi << 8 | lo);
      int e = (how >> 1) % 48 - 16;
      it.f = (how & 0x80) ? m * pow(10, e) : ldexp(m, e);
    }
    break;
  }
  case V_BOOL: it.b = byte(r) & 1; break;
  case V_BAD: it.b = byte(r) & 1; break;
  default: break;
  }
  return it;
}

static int not_a_value(lua_State *L) { return lua_gettop(L) * 0; }

static void push_item(lua_State *L, const item *it, int in_array) {
  switch (it->type) {
  case V_STR: lua_pushlstring(L, it->s.s, it->s.len); break;
  case V_INT: lua_pushinteger(L, (lua_Integer)it->i); break;
  case V_FLT: lua_pushnumber(L, it->f); break;
  case V_BOOL: lua_pushboolean(L, it->b); break;
  case V_BAD:
    if (in_array && it->b) lua_createtable(L, 0, 0);
    else lua_pushcfunction(L, not_a_value);
    break;
  default: lua_pushnil(L); break;
  }
}

static int is_bad(const item *it) {
  return it->type == V_BAD || (it->type == V_FLT && !isfinite(it->f));
}

/* ---------- checking the output ---------- */

static int unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1; /* lower-case hex is not what escape() writes */
}

/* Decode escaped text from *pp up to a byte in `stop` (or the end) into out (cap bytes); fails
 * on any byte that is neither unreserved nor a canonical %XX. Returns the length written. */
static size_t decode(const char **pp, const char *end, const char *stop, char *out, size_t cap) {
  const char *p = *pp;
  size_t n = 0;
  while (p < end && !(*p && strchr(stop, *p))) {
    if (n == cap) FAIL("a decoded key or value is longer than any given");
    if (*p == '%') {
      int h, l;
      if (end - p < 3 || (h = hexval(p[1])) < 0 || (l = hexval(p[2])) < 0)
        FAIL("bad escape at '%.20s'", p);
      if (unreserved((unsigned char)(h * 16 + l))) FAIL("unreserved byte escaped: %.3s", p);
      out[n++] = (char)(h * 16 + l);
      p += 3;
    } else if (unreserved((unsigned char)*p)) {
      out[n++] = *p++;
    } else {
      FAIL("byte 0x%02x outside the allowed set", (unsigned char)*p);
    }
  }
  *pp = p;
  return n;
}

static int same(const char *a, size_t an, const char *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void check_value(const item *it, const char *v, size_t n) {
  char buf[64];
  switch (it->type) {
  case V_STR:
    if (!same(v, n, it->s.s, it->s.len)) FAIL("string value changed");
    return;
  case V_INT:
    snprintf(buf, sizeof buf, "%lld", it->i);
    break;
  case V_BOOL:
    snprintf(buf, sizeof buf, "%s", it->b ? "true" : "false");
    break;
  case V_FLT:
    if (it->f == floor(it->f) && it->f >= -0x1p63 && it->f < 0x1p63) {
      snprintf(buf, sizeof buf, "%lld", (long long)it->f);
      break;
    }
    if (n == 0 || n >= sizeof buf) FAIL("float %.17g written as %zu bytes", it->f, n);
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end;
    double back = strtod(buf, &end);
    if (*end || back != it->f || strchr(buf, 'n') || strchr(buf, 'x'))
      FAIL("float %.17g written as '%s'", it->f, buf);
    return;
  default:
    FAIL("a bad value was written");
  }
  if (!same(v, n, buf, strlen(buf))) FAIL("value '%.*s', want '%s'", (int)n, v, buf);
}

static int key_cmp(const void *a, const void *b) {
  const param *x = a, *y = b;
  size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
  int c = n ? memcmp(x->key.s, y->key.s, n) : 0;
  if (c) return c;
  return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

/* curl_url must keep `url` and return `part` exactly as `want`. */
static void check_curl(const char *url, CURLUPart part, const char *want, size_t wlen) {
  CURLU *u = curl_url();
  char *got = NULL;
  if (!u) abort();
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) FAIL("curl rejects '%.300s'", url);
  if (curl_url_get(u, part, &got, 0) != CURLUE_OK) FAIL("curl has no part %d of '%.300s'", (int)part, url);
  if (!same(got, strlen(got), want, wlen)) FAIL("curl turned '%.300s' into '%.300s'", want, got);
  curl_free(got);
  curl_url_cleanup(u);
}

/* ---------- the target ---------- */

static lua_State *L;
static int build_ref, escape_ref;

static void setup(void) {
  L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  if (luaL_dostring(L, "package.path = '" AE_LUA_DIR "/?.lua;' .. package.path\n"
                       "return (require 'anthropic.query')"))
    FAIL("cannot load query.lua from " AE_LUA_DIR ": %s", lua_tostring(L, -1));
  lua_getfield(L, -1, "build");
  build_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, -1, "escape");
  escape_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
}

static void check_escape(str s) {
  static char dec[64], url[128 + 64 * 3];
  size_t en, dn;
  const char *e, *p;
  lua_rawgeti(L, LUA_REGISTRYINDEX, escape_ref);
  lua_pushlstring(L, s.s, s.len);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) FAIL("escape raised: %s", lua_tostring(L, -1));
  e = lua_tolstring(L, -1, &en);
  if (!e) FAIL("escape returned no string");
  p = e;
  dn = decode(&p, e + en, "", dec, sizeof dec);
  if (p != e + en || !same(dec, dn, s.s, s.len)) FAIL("escape does not decode back");
  if (!same(s.s, s.len, ".", 1) && !same(s.s, s.len, "..", 2)) {
    static const char base[] = "https://api.anthropic.com/v1/models/";
    snprintf(url, sizeof url, "%s%s", base, e);
    check_curl(url, CURLUPART_PATH, url + strlen("https://api.anthropic.com"),
               strlen(url) - strlen("https://api.anthropic.com"));
  }
  lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = {data, size};
  param ps[MAX_KEYS];
  int np = 0, nkeys, npairs = 0;
  const param *bad_at = NULL;
  const item *bad = NULL;
  if (!L) setup();

  /* Build the parameters; a repeated key replaces the earlier one, nil removes it. */
  nkeys = byte(&r) % (MAX_KEYS + 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, build_ref);
  lua_createtable(L, 0, nkeys);
  for (int k = 0; k < nkeys; k++) {
    param p;
    int kind, j;
    memset(&p, 0, sizeof p);
    p.key = text(&r);
    kind = byte(&r) % 10;
    lua_pushlstring(L, p.key.s, p.key.len);
    if (kind >= 6) { /* an array: 6 plain, 7 with a hole, 8 empty, 9 with anything */
      p.array = 1;
      p.nitems = kind == 8 ? 0 : 1 + byte(&r) % MAX_ITEMS;
      lua_createtable(L, p.nitems, 0);
      for (j = 0; j < p.nitems; j++) {
        int t = byte(&r) % (kind == 9 ? 6 : 4);
        if (kind == 7 && j == p.nitems / 2) t = V_NIL;
        p.items[j] = scalar(&r, t);
        if (t != V_NIL) {
          push_item(L, &p.items[j], 1);
          lua_rawseti(L, -2, j + 1);
        }
      }
    } else {
      p.nitems = 1;
      p.items[0] = scalar(&r, kind);
      push_item(L, &p.items[0], 0);
    }
    lua_rawset(L, -3);
    for (j = 0; j < np && !same(ps[j].key.s, ps[j].key.len, p.key.s, p.key.len); j++) continue;
    if (j < np) ps[j] = ps[--np]; /* replaced or removed */
    if (!(!p.array && p.items[0].type == V_NIL)) ps[np++] = p;
  }
  qsort(ps, (size_t)np, sizeof ps[0], key_cmp);

  /* What must come out: the pairs, or the error for the first bad value in key order. */
  for (int k = 0; k < np && !bad; k++)
    for (int j = 0; j < ps[k].nitems && ps[k].items[j].type != V_NIL && !bad; j++) {
      if (is_bad(&ps[k].items[j])) bad = &ps[k].items[j], bad_at = &ps[k];
      else npairs++;
    }

  int rc = lua_pcall(L, 1, 1, 0);
  size_t on;
  const char *out = lua_tolstring(L, -1, &on);
  if (bad) {
    char want[256];
    size_t wn;
    if (rc != LUA_ERRRUN || !out) FAIL("no error for a bad value (got '%.200s')", out ? out : "nil");
    /* the key may hold NUL bytes: built and compared as raw bytes */
    wn = (size_t)snprintf(want, sizeof want, "query parameter '");
    memcpy(want + wn, bad_at->key.s, bad_at->key.len);
    wn += bad_at->key.len;
    if (bad->type == V_BAD)
      wn += (size_t)snprintf(want + wn, sizeof want - wn, "' must be a string, number or boolean (got %s)",
                             bad->b && bad_at->array ? "table" : "function");
    else
      wn += (size_t)snprintf(want + wn, sizeof want - wn, "' must be a finite number (got %s)",
                             isnan(bad->f) ? "nan" : bad->f > 0 ? "inf" : "-inf");
    if (!memmem(out, on, want, wn)) FAIL("error '%.300s', want '%s'", out, want);
  } else {
    if (rc != LUA_OK) FAIL("build raised: %s", out ? out : "?");
    if (npairs == 0) {
      if (!lua_isnil(L, -1)) FAIL("no pairs, yet build returned '%.200s'", out ? out : "?");
    } else {
      static char kbuf[64], vbuf[64 * 3];
      const char *p, *end;
      int k = 0, j = 0;
      if (!out || lua_type(L, -1) != LUA_TSTRING) FAIL("build returned no string");
      p = out;
      end = out + on;
      for (int pair = 0; pair < npairs; pair++) {
        size_t kn, vn;
        int arr = 0;
        if (pair && (p >= end || *p++ != '&')) FAIL("pair %d does not start with '&'", pair);
        kn = decode(&p, end, "[=&", kbuf, sizeof kbuf);
        if (p + 1 < end && p[0] == '[' && p[1] == ']') arr = 1, p += 2;
        if (p >= end || *p++ != '=') FAIL("pair %d has no '=' in '%.200s'", pair, out);
        vn = decode(&p, end, "&", vbuf, sizeof vbuf);
        while (j >= ps[k].nitems || ps[k].items[j].type == V_NIL) k++, j = 0; /* the next key */
        if (!same(kbuf, kn, ps[k].key.s, ps[k].key.len)) FAIL("pair %d: wrong key (order?)", pair);
        if (arr != ps[k].array) FAIL("pair %d: '[]' is %s", pair, arr ? "wrong" : "missing");
        check_value(&ps[k].items[j], vbuf, vn);
        j++;
      }
      if (p != end) FAIL("text after the last pair: '%.100s'", p);
      {
        static const char base[] = "https://api.anthropic.com/v1/organizations/usage_report?";
        size_t bl = strlen(base);
        char *url = malloc(bl + on + 1);
        if (!url) abort();
        memcpy(url, base, bl);
        memcpy(url + bl, out, on + 1);
        check_curl(url, CURLUPART_QUERY, out, on);
        free(url);
      }
    }
  }
  lua_settop(L, 0);

  /* The rest of the input, as one string to escape (a path argument, say). */
  {
    str rest = {(const char *)r.p, r.n > 64 ? 64 : r.n};
    check_escape(rest);
  }
  return 0;
}
