/* ljson.c - core.json_decode(text) -> value | nil, message: JSON to Lua values the way the
 * library hands answers out. A member whose value is null is absent (a null in an array leaves a
 * hole), and a number whose exact value is whole and in the 64-bit range is an integer (1, 1.0,
 * 1e2, -0 as 0); any other is a float (1.5, 1e-400 as 0.0, 9223372036854775808, 1e400 as inf).
 *
 * Strict RFC 8259 (no comments, no leading zeros, hex, NaN or trailing commas); strings are
 * unescaped by ae_json_string (jtext.c) and other bytes copied as they are, as lua-cjson does.
 * Members are gathered on the Lua stack and each table is made at its final size, so no table
 * is rehashed while it fills; the last of repeated member names wins. Nothing here is malloc'd:
 * the unescape buffer is on the C stack or a userdata, so a Lua error (out of memory) leaks
 * nothing. An empty array gets json.array's metatable, so that it encodes back as [] (an empty
 * table is otherwise {}). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "jtext.h"

#define MAX_DEPTH 200 /* nested arrays and objects */
#define FLUSH 256     /* members gathered before they move into their table */

typedef struct jd {
  lua_State *L;
  const char *s, *p, *end;
  char *buf; /* unescape space (as long as the text) when the text has a backslash */
  int inplace; /* strings are unescaped where they lie in the text (buf unused) */
  int depth;
  const char *want; /* what was expected where it failed (NULL: nested too deeply) */
  int null_idx;     /* stack index of the value a null decodes to; 0: null is absent (nil) */
} jd;

enum { J_FAIL = 0, J_VALUE = 1, J_NULL = 2 };

static void push_null(jd *d) {
  if (d->null_idx) lua_pushvalue(d->L, d->null_idx);
  else lua_pushnil(d->L);
}

static int fail(jd *d, const char *want) {
  d->want = want;
  return J_FAIL;
}

static void skip_ws(jd *d) {
  const char *p = d->p, *end = d->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  d->p = p;
}

static int is_digit(const jd *d, const char *p) { return p < d->end && *p >= '0' && *p <= '9'; }

static int value(jd *d);

static int string(jd *d) {
  const char *q = d->p + 1;
  q += ae_json_plain(q, d->end);
  if (q < d->end && *q == '"') { /* no escape: straight from the text */
    lua_pushlstring(d->L, d->p + 1, (size_t)(q - d->p - 1));
    d->p = q + 1;
    return J_VALUE;
  }
  size_t n;
  char *out = d->inplace ? (char *)(uintptr_t)d->p : d->buf; /* the text is writable then */
  char at_q = q < d->end ? *q : '\0'; /* in place, unescaping may write over it */
  const char *after = out ? ae_json_string(d->p, d->end, out, &n) : NULL;
  if (!after) {
    if (d->inplace && q < d->end) *(char *)(uintptr_t)q = at_q; /* what error_result shows */
    d->p = q; /* where the string went wrong */
    return fail(d, q >= d->end ? "a closing quote" : "a valid escape, and no control character, in a string");
  }
  lua_pushlstring(d->L, out, n);
  d->p = after;
  return J_VALUE;
}

/* The number's exact value as an integer when it is whole and in the 64-bit range: 1 and *out
 * set; 0 when it is not whole (1.5, 1e-400) or does not fit (9223372036854775808, 1e19). Decided
 * on the digits, not on a double: -9223372036854775809 and 1.0000000000000000001 round to whole
 * doubles but are neither, and 12345678901234567891e-1 keeps its last digit. */
static int exact_integer(const char *s, const char *int_end, const char *end, lua_Integer *out) {
  int neg = *s == '-';
  const char *ds = neg ? s + 1 : s, *frac = int_end, *frac_end = int_end;
  if (frac < end && *frac == '.') {
    frac++;
    frac_end = frac;
    while (frac_end < end && *frac_end >= '0' && *frac_end <= '9') frac_end++;
  }
  long long e = 0; /* the exponent, saturated: past 10^9 only its sign matters */
  const char *x = frac_end;
  if (x < end && (*x == 'e' || *x == 'E')) {
    int eneg = *++x == '-';
    if (*x == '+' || *x == '-') x++;
    for (; x < end && *x >= '0' && *x <= '9'; x++)
      if (e < 1000000000LL) e = e * 10 + (*x - '0');
    if (eneg) e = -e;
  }
  /* digit i of the integer digits followed by the fraction digits; value = digits x 10^scale */
  long long ni = int_end - ds, n = ni + (frac_end - frac), lo = 0, hi = n - 1;
#define DIGIT(i) ((i) < ni ? ds[i] : frac[(i) - ni])
  while (lo < n && DIGIT(lo) == '0') lo++;
  if (lo == n) return *out = 0, 1; /* zero: -0 and 0e5 too */
  while (DIGIT(hi) == '0') hi--;
  long long scale = e - (n - ni) + (n - 1 - hi);
  if (scale < 0 || hi - lo + 1 + scale > 19) return 0; /* a fraction, or 10^19 or more */
  uint64_t v = 0, limit = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
  for (long long i = lo; i <= hi; i++) {
    unsigned dgt = (unsigned)(DIGIT(i) - '0');
    if (v > (limit - dgt) / 10) return 0;
    v = v * 10 + dgt;
  }
#undef DIGIT
  for (long long i = 0; i < scale; i++) {
    if (v > limit / 10) return 0;
    v *= 10;
  }
  *out = neg ? (lua_Integer)(0 - v) : (lua_Integer)v; /* 0 - 2^63 wraps to the minimum */
  return 1;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(jd *d) {
  const char *p = d->p, *start = p;
  int whole = 1;
  if (*p == '-') p++;
  if (!is_digit(d, p)) return d->p = p, fail(d, "a digit");
  if (*p == '0') p++;
  else
    while (is_digit(d, p)) p++;
  const char *int_end = p;
  if (p < d->end && *p == '.') {
    whole = 0;
    if (!is_digit(d, ++p)) return d->p = p, fail(d, "a digit after the decimal point");
    while (is_digit(d, p)) p++;
  }
  if (p < d->end && (*p == 'e' || *p == 'E')) {
    whole = 0;
    p++;
    if (p < d->end && (*p == '+' || *p == '-')) p++;
    if (!is_digit(d, p)) return d->p = p, fail(d, "a digit in the exponent");
    while (is_digit(d, p)) p++;
  }
  d->p = p;
  size_t len = (size_t)(p - start);
  if (whole && int_end - start <= 18) { /* fits: no conversion through text */
    lua_Integer v = 0;
    for (const char *c = *start == '-' ? start + 1 : start; c < int_end; c++) v = v * 10 + (*c - '0');
    lua_pushinteger(d->L, *start == '-' ? -v : v);
    return J_VALUE;
  }
  lua_Integer v;
  if (exact_integer(start, int_end, p, &v)) { /* 1.0, 1e2, 100e-2: whole numbers */
    lua_pushinteger(d->L, v);
    return J_VALUE;
  }
  /* a float, by Lua's own reading (lua_stringtonumber; 1e999 is inf, 1e-999 is 0.0) */
  char tmp[64];
  if (len < sizeof tmp) {
    memcpy(tmp, start, len);
    tmp[len] = '\0';
    if (!lua_stringtonumber(d->L, tmp)) return d->p = start, fail(d, "a number");
  } else {
    lua_pushlstring(d->L, start, len);
    if (!lua_stringtonumber(d->L, lua_tostring(d->L, -1))) return d->p = start, fail(d, "a number");
    lua_remove(d->L, -2);
  }
  return J_VALUE; /* a float: exact_integer found no whole number in range */
}

static int literal(jd *d, const char *word, size_t n) {
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0) return fail(d, "a value");
  d->p += n;
  return J_VALUE;
}

/* The table for the `n` values above `base` (arrays) or n/2 name, value pairs (objects). */
static void flush(jd *d, int base, int *made, int array, lua_Integer *next) {
  lua_State *L = d->L;
  int top = lua_gettop(L), n = top - base - (*made ? 1 : 0);
  if (!*made) {
    lua_createtable(L, array ? n : 0, array ? 0 : n / 2);
    lua_insert(L, base + 1);
    *made = 1;
  }
  int t = base + 1;
  if (array) {
    for (int i = n; i >= 1; i--) lua_rawseti(L, t, *next + i - 1); /* distinct indices: any order */
    *next += n;
  } else {
    for (int i = t + 1; i < t + 1 + n; i += 2) { /* in order, so a repeated name's last value wins */
      lua_pushvalue(L, i);
      lua_pushvalue(L, i + 1);
      lua_rawset(L, t); /* a nil (from null) removes an earlier value, else adds nothing */
    }
    lua_settop(L, t);
  }
}

static int container(jd *d, int array) {
  lua_State *L = d->L;
  const char close = array ? ']' : '}';
  if (++d->depth > MAX_DEPTH) return fail(d, NULL); /* want NULL: too deep */
  int base = lua_gettop(L), made = 0;
  lua_Integer next = 1;
  d->p++;
  skip_ws(d);
  if (d->p < d->end && *d->p == close) {
    d->p++;
  } else {
    for (;;) {
      luaL_checkstack(L, 4, "JSON nested too deeply");
      if (!array) {
        if (d->p >= d->end || *d->p != '"') return fail(d, "a member name in double quotes");
        if (!string(d)) return J_FAIL;
        skip_ws(d);
        if (d->p >= d->end || *d->p != ':') return fail(d, "':' after the member name");
        d->p++;
        skip_ws(d);
      }
      int r = value(d);
      if (r == J_FAIL) return J_FAIL;
      if (r == J_NULL) push_null(d);
      if (lua_gettop(L) - base >= FLUSH) flush(d, base, &made, array, &next);
      skip_ws(d);
      if (d->p < d->end && *d->p == ',') {
        d->p++;
        skip_ws(d);
        continue;
      }
      if (d->p < d->end && *d->p == close) {
        d->p++;
        break;
      }
      return fail(d, array ? "',' or ']' in an array" : "',' or '}' in an object");
    }
  }
  flush(d, base, &made, array, &next);
  if (array && next == 1) luaL_setmetatable(L, AE_JSON_ARRAY_MT); /* [] encodes back as [] */
  d->depth--;
  return J_VALUE;
}

/* Pushes the value at d->p (nothing for null); J_FAIL with d->want set on an error. */
static int value(jd *d) {
  skip_ws(d);
  if (d->p >= d->end) return fail(d, "a value");
  switch (*d->p) {
    case '{': return container(d, 0);
    case '[': return container(d, 1);
    case '"': return string(d);
    case 't':
      if (!literal(d, "true", 4)) return J_FAIL;
      lua_pushboolean(d->L, 1);
      return J_VALUE;
    case 'f':
      if (!literal(d, "false", 5)) return J_FAIL;
      lua_pushboolean(d->L, 0);
      return J_VALUE;
    case 'n': return literal(d, "null", 4) ? J_NULL : J_FAIL;
    default:
      if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) return number(d);
      return fail(d, "a value");
  }
}

/* nil and "unexpected 'x' at byte 12 (expected ...)", positions 1-based. */
static int error_result(jd *d) {
  lua_State *L = d->L;
  char found[32];
  int at = (int)(d->p - d->s) + 1;
  if (d->p >= d->end)
    snprintf(found, sizeof found, "end of the text");
  else if ((unsigned char)*d->p >= 0x20 && (unsigned char)*d->p < 0x7f)
    snprintf(found, sizeof found, "'%c'", *d->p);
  else
    snprintf(found, sizeof found, "byte 0x%02x", (unsigned char)*d->p);
  lua_pushnil(L);
  if (d->want)
    lua_pushfstring(L, "unexpected %s at byte %d (expected %s)", found, at, d->want);
  else
    lua_pushfstring(L, "more than %d nested arrays and objects at byte %d", MAX_DEPTH, at);
  return 2;
}

/* Unescaped strings of a text up to this size are written on the C stack, so decoding a
 * typical answer allocates nothing but its values. */
#define STACK_TEXT 4096

static int decode(lua_State *L, const char *s, size_t len, int null_idx, int inplace) {
  char small[STACK_TEXT];
  jd d = {L, s, s, s + len, NULL, inplace, 0, NULL, null_idx};
  if (!inplace && memchr(s, '\\', len)) d.buf = len <= sizeof small ? small : lua_newuserdatauv(L, len, 0);
  int boxed = d.buf && d.buf != small; /* the userdata sits below the value */
  int base = lua_gettop(L);
  int r = value(&d);
  if (r != J_FAIL) {
    skip_ws(&d);
    if (d.p == d.end) {
      if (r == J_NULL) push_null(&d);
      if (boxed) lua_remove(L, base);
      return 1;
    }
    fail(&d, "the end of the text after the value");
  }
  lua_settop(L, boxed ? base - 1 : base);
  return error_result(&d);
}

int ae_json_push(lua_State *L, const char *s, size_t len) {
  return decode(L, s, len, 0, 0);
}

int ae_json_push_inplace(lua_State *L, char *s, size_t len) {
  return decode(L, s, len, 0, 1);
}

/* core.json_decode(text [, null]): with a second argument that is not nil, a null decodes to
 * that value (members kept, arrays without holes): the emulator's way, which must tell a null
 * from a missing member. */
int ae_json_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_settop(L, 2);
  return decode(L, s, len, lua_isnil(L, 2) ? 0 : 2, 0);
}
