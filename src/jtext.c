/* jtext.c - the text delta fast path's JSON reader (see jtext.h for what it accepts). */
#include "jtext.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* A string without escapes or control characters, not copied: [*s, *s + *n). */
static const char *raw_string(const char *p, const char *end, const char **s, size_t *n) {
  if (p >= end || *p != '"') return NULL;
  const char *start = ++p;
  while (p < end && *p != '"') {
    unsigned char c = (unsigned char)*p;
    if (c == '\\' || c < 0x20) return NULL;
    p++;
  }
  if (p >= end) return NULL;
  *s = start;
  *n = (size_t)(p - start);
  return p + 1;
}

static int is(const char *s, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return n == l && memcmp(s, lit, l) == 0;
}

static int hex4(const char *p, const char *end, unsigned *v) {
  unsigned r = 0;
  if (end - p < 4) return 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    r <<= 4;
    if (c >= '0' && c <= '9') r |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') r |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') r |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *v = r;
  return 1;
}

static size_t put_utf8(unsigned cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The first stop byte ('"', '\\' or < 0x20) of p: sixteen bytes at a time with SSE2 (every x86-64
 * has it), then eight at a time in a word, whose lowest flagged byte is the first stop byte (a
 * borrow only flags bytes above a true one), then byte by byte. */
size_t ae_json_plain(const char *p, const char *end) {
  const char *s = p;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
  for (; end - s >= 16; s += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v)); /* unsigned v <= 0x1f */
    unsigned m = (unsigned)_mm_movemask_epi8(stop);
    if (m) return (size_t)(s - p) + (size_t)__builtin_ctz(m);
  }
#endif
  for (; end - s >= 8; s += 8) {
    uint64_t w, ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    memcpy(&w, s, 8);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t hit = ((q - ones) & ~q & high) | ((b - ones) & ~b & high) | ((w - ones * 0x20) & ~w & high);
    if (hit) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return (size_t)(s - p) + (size_t)(__builtin_ctzll(hit) >> 3);
#else
      break;
#endif
    }
  }
  while (s < end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20) s++;
  return (size_t)(s - p);
}

const char *ae_json_string(const char *p, const char *end, char *out, size_t *out_len) {
  size_t o = 0;
  if (p >= end || *p != '"') return NULL;
  p++;
  while (p < end) {
    size_t run = ae_json_plain(p, end);
    memmove(out + o, p, run); /* out may be the text itself (ae_json_push_inplace) */
    o += run;
    p += run;
    if (p >= end) break;
    unsigned char c = (unsigned char)*p;
    if (c == '"') {
      *out_len = o;
      return p + 1;
    }
    if (c < 0x20) return NULL;
    if (c != '\\') {
      out[o++] = (char)c;
      p++;
      continue;
    }
    if (end - p < 2) return NULL;
    char esc = p[1];
    p += 2;
    switch (esc) {
      case '"': out[o++] = '"'; break;
      case '\\': out[o++] = '\\'; break;
      case '/': out[o++] = '/'; break;
      case 'b': out[o++] = '\b'; break;
      case 'f': out[o++] = '\f'; break;
      case 'n': out[o++] = '\n'; break;
      case 'r': out[o++] = '\r'; break;
      case 't': out[o++] = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (!hex4(p, end, &cp)) return NULL;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate: its low half must follow */
          if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, end, &lo) || lo < 0xDC00 ||
              lo > 0xDFFF)
            return NULL;
          p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return NULL; /* a lone low surrogate */
        }
        o += put_utf8(cp, out + o);
        break;
      }
      default:
        return NULL;
    }
  }
  return NULL;
}

/* {"type":"text_delta","text":"..."} -> the text in out */
static const char *delta_object(const char *p, const char *end, char *out, size_t *text_len) {
  int have_type = 0, have_text = 0;
  if (p >= end || *p != '{') return NULL;
  p = skip_ws(p + 1, end);
  for (;;) {
    const char *k, *v;
    size_t kn, vn;
    p = raw_string(p, end, &k, &kn);
    if (!p) return NULL;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return NULL;
    p = skip_ws(p + 1, end);
    if (is(k, kn, "type")) {
      if (have_type++) return NULL;
      p = raw_string(p, end, &v, &vn);
      if (!p || !is(v, vn, "text_delta")) return NULL;
    } else if (is(k, kn, "text")) {
      if (have_text++) return NULL;
      p = ae_json_string(p, end, out, text_len);
      if (!p) return NULL;
    } else {
      return NULL;
    }
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      p = skip_ws(p + 1, end);
      continue;
    }
    if (p < end && *p == '}') break;
    return NULL;
  }
  return have_type && have_text ? p + 1 : NULL;
}

int ae_text_delta(const char *data, size_t len, char *out, size_t *text_len, long *index) {
  const char *p = data, *end = data + len;
  int have_type = 0, have_index = 0, have_delta = 0;
  p = skip_ws(p, end);
  if (p >= end || *p != '{') return 0;
  p = skip_ws(p + 1, end);
  for (;;) {
    const char *k, *v;
    size_t kn, vn;
    p = raw_string(p, end, &k, &kn);
    if (!p) return 0;
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return 0;
    p = skip_ws(p + 1, end);
    if (is(k, kn, "type")) {
      if (have_type++) return 0;
      p = raw_string(p, end, &v, &vn);
      if (!p || !is(v, vn, "content_block_delta")) return 0;
    } else if (is(k, kn, "index")) {
      long n = 0;
      int digits = 0;
      if (have_index++) return 0;
      if (p < end && *p == '0' && end - p > 1 && p[1] >= '0' && p[1] <= '9') return 0;
      while (p < end && *p >= '0' && *p <= '9') {
        if (++digits > 9) return 0;
        n = n * 10 + (*p - '0');
        p++;
      }
      if (!digits) return 0;
      *index = n;
    } else if (is(k, kn, "delta")) {
      if (have_delta++) return 0;
      p = delta_object(p, end, out, text_len);
      if (!p) return 0;
    } else {
      return 0;
    }
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      p = skip_ws(p + 1, end);
      continue;
    }
    if (p < end && *p == '}') break;
    return 0;
  }
  if (skip_ws(p + 1, end) != end) return 0;
  return have_type && have_index && have_delta;
}
