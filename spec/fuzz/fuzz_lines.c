/* fuzz_lines.c - libFuzzer target for the line splitter (lines.h).
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc spec/fuzz/fuzz_lines.c src/lines.c \
 *     -o /tmp/fuzz_lines && /tmp/fuzz_lines -max_total_time=30 spec/fuzz/lines
 * The first byte picks the line limit, the second a split point. The rest is split three ways:
 * in one feed, in two feeds cut at the split point, in one-byte feeds. All must give the same lines
 * and the same result; no line may hold a "\n" or pass the limit, and, when nothing
 * failed, the lines joined with "\n" must be the input without its "\r\n"s' "\r". */
#include "lines.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
  char *s;
  size_t len, cap, max, n;
} out;

static void put(out *o, const void *p, size_t n) {
  if (o->len + n > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n) cap *= 2;
    o->s = realloc(o->s, cap);
    if (!o->s) abort();
    o->cap = cap;
  }
  if (n) memcpy(o->s + o->len, p, n);
  o->len += n;
}

static int on_line(void *ud, const char *p, size_t n) {
  out *o = ud;
  if (n > o->max || memchr(p, '\n', n)) abort();
  put(o, &n, sizeof n);
  put(o, p, n);
  o->n++;
  return 0;
}

static int run(size_t max, const char *p, size_t n, size_t cut, size_t piece, out *o) {
  ae_lines *s = ae_lines_new(max);
  int rc = 0;
  if (!s) abort();
  o->max = max;
  if (piece) {
    for (size_t at = 0; at < n && !rc; at++) rc = ae_lines_feed(s, p + at, 1, on_line, o);
  } else {
    rc = ae_lines_feed(s, p, cut, on_line, o);
    if (!rc) rc = ae_lines_feed(s, p + cut, n - cut, on_line, o);
  }
  int fin = ae_lines_finish(s, on_line, o);
  if (fin != rc) abort(); /* finish returns the sticky value */
  ae_lines_free(s);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t max = (size_t)data[0] + 1, cut = data[1];
  const char *p = (const char *)data + 2;
  size_t n = size - 2;
  if (cut > n) cut = n;
  out a = {0}, b = {0}, c = {0};
  int ra = run(max, p, n, n, 0, &a), rb = run(max, p, n, cut, 0, &b), rc = run(max, p, n, 0, 1, &c);
  if (ra != rb || ra != rc || a.len != b.len || a.len != c.len || (a.len && (memcmp(a.s, b.s, a.len) ||
      memcmp(a.s, c.s, a.len))))
    abort();
  if (ra == 0) { /* the lines are the input, line ends aside */
    out joined = {0};
    for (size_t at = 0; at < a.len;) {
      size_t len;
      memcpy(&len, a.s + at, sizeof len);
      at += sizeof len;
      put(&joined, a.s + at, len);
      put(&joined, "\n", 1);
      at += len;
    }
    out want = {0};
    for (size_t i = 0; i < n; i++) {
      if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') continue;
      put(&want, p + i, 1);
    }
    /* the last line: without its "\n" in the input, delivered unless empty or a lone "\r" */
    if (want.len && want.s[want.len - 1] != '\n') {
      if (want.len == 1 || want.s[want.len - 2] == '\n') {
        if (want.s[want.len - 1] == '\r') want.len--; /* a last line of one "\r" is dropped */
        else put(&want, "\n", 1);
      } else {
        if (want.s[want.len - 1] == '\r') want.len--; /* its "\r" goes */
        put(&want, "\n", 1);
      }
    }
    if (joined.len != want.len || (want.len && memcmp(joined.s, want.s, want.len))) abort();
    free(joined.s);
    free(want.s);
  }
  free(a.s);
  free(b.s);
  free(c.s);
  return 0;
}
