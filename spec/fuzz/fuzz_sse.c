/* fuzz_sse.c - libFuzzer target for the SSE parser.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc spec/fuzz/fuzz_sse.c src/sse.c \
 *     -o /tmp/fuzz_sse && /tmp/fuzz_sse -max_total_time=30 spec/fuzz/sse
 * The first byte picks the event size limit, the second a split point. The rest is parsed
 * four ways: in one feed; in two feeds cut at the split point; in one-byte feeds; in small
 * feeds with a callback that stops after every event and is resumed. All must give the same
 * events and the same result, and every event must respect the limit and the field rules. */
#include "sse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
  char *s;
  size_t len, cap;
  size_t max;
  int stop; /* returned from the callback */
} out;

static void put(out *o, const void *p, size_t n) {
  if (o->len + n > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n) cap *= 2;
    o->s = realloc(o->s, cap);
    if (o->s == NULL) abort();
    o->cap = cap;
  }
  memcpy(o->s + o->len, p, n);
  o->len += n;
}

/* Length-prefixed, so the serialisation is unambiguous. */
static void put_field(out *o, const char *p, size_t n) {
  put(o, &n, sizeof n);
  put(o, p, n);
}

static int on_event(void *ud, const ae_sse_event *ev) {
  out *o = ud;
  if (ev->event_len + ev->data_len > o->max) abort();
  if (ev->event[ev->event_len] || ev->data[ev->data_len] || ev->id[ev->id_len]) abort();
  if (memchr(ev->event, '\n', ev->event_len) || memchr(ev->event, '\r', ev->event_len)) abort();
  if (memchr(ev->data, '\r', ev->data_len)) abort(); /* only "\n" joins data lines */
  if (memchr(ev->id, '\n', ev->id_len) || memchr(ev->id, '\r', ev->id_len) ||
      memchr(ev->id, '\0', ev->id_len))
    abort();
  if (ev->retry_ms < -1) abort();
  put_field(o, ev->event, ev->event_len);
  put_field(o, ev->data, ev->data_len);
  put_field(o, ev->id, ev->id_len);
  put(o, &ev->retry_ms, sizeof ev->retry_ms);
  return o->stop;
}

/* Parse [p, p+n) in pieces of `piece` bytes (0: one feed, cut at `cut` if non-zero).
 * Returns the last feed's error (0 if none); *fin gets ae_sse_finish's result. */
static int run(size_t max, const char *p, size_t n, size_t cut, size_t piece, int stop, out *o,
               int *fin, size_t *discarded) {
  ae_sse *s = ae_sse_new(max);
  int rc = 0;
  if (s == NULL) abort();
  o->max = max;
  o->stop = stop;
  if (piece) {
    for (size_t at = 0; at < n && rc == 0; at += piece) {
      rc = ae_sse_feed(s, p + at, n - at < piece ? n - at : piece, on_event, o);
      while (rc > 0) rc = ae_sse_feed(s, NULL, 0, on_event, o); /* resume after each stop */
    }
  } else if (cut) {
    rc = ae_sse_feed(s, p, cut, on_event, o);
    if (rc == 0) rc = ae_sse_feed(s, p + cut, n - cut, on_event, o);
  } else {
    rc = ae_sse_feed(s, p, n, on_event, o);
  }
  if (rc && ae_sse_feed(s, "x", 1, on_event, o) != rc) abort(); /* errors are sticky */
  *fin = ae_sse_finish(s, discarded);
  if (rc == 0 && *discarded > n) abort();
  ae_sse_free(s);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const size_t limits[4] = {0, 1, 16, 200};
  out a = {0}, b = {0}, c = {0}, d = {0};
  size_t max, cut, n, da, db, dc, dd;
  const char *p;
  int ra, rb, rc, rd, fa, fb, fc, fd;
  if (size < 2) return 0;
  max = limits[data[0] & 3];
  if (max == 0) max = AE_SSE_DEFAULT_MAX;
  p = (const char *)data + 2;
  n = size - 2;
  cut = n ? data[1] % (n + 1) : 0;

  ra = run(max, p, n, 0, 0, 0, &a, &fa, &da);
  rb = run(max, p, n, cut, 0, 0, &b, &fb, &db);
  rc = run(max, p, n, 0, 1, 0, &c, &fc, &dc);
  rd = run(max, p, n, 0, 1 + data[1] % 13, 1, &d, &fd, &dd);
  if (ra != 0 && ra != AE_SSE_TOO_BIG) abort(); /* no NOMEM at these sizes */
  if (ra != rb || ra != rc || ra != rd) abort();
  if (a.len != b.len || a.len != c.len || a.len != d.len) abort();
  if (a.len && (memcmp(a.s, b.s, a.len) || memcmp(a.s, c.s, a.len) || memcmp(a.s, d.s, a.len)))
    abort();
  if (ra == 0 && (fa != fb || fa != fc || fa != fd || da != db || da != dc || da != dd)) abort();
  free(a.s);
  free(b.s);
  free(c.s);
  free(d.s);
  return 0;
}
