/* lines.c - incremental line splitter (see lines.h). Complete lines are handed over from the
 * caller's bytes; only a line cut by the end of a feed is copied into `held`. */
#include "lines.h"

#include <stdlib.h>
#include <string.h>

#define BUF_MIN 256
#define SHRINK_ABOVE ((size_t)64 << 10) /* release the buffer grown past this once it is empty */

struct ae_lines {
  size_t max;          /* max_line */
  char *held;          /* the unfinished line, when a feed ended inside one */
  size_t len, cap;
  unsigned long count; /* lines delivered */
  int sticky;          /* a stop or an error: returned until reset */
};

ae_lines *ae_lines_new(size_t max_line) {
  ae_lines *s = calloc(1, sizeof *s);
  if (s) s->max = max_line ? max_line : AE_LINES_DEFAULT_MAX;
  return s;
}

void ae_lines_free(ae_lines *s) {
  if (!s) return;
  free(s->held);
  free(s);
}

static void clear_held(ae_lines *s) {
  s->len = 0;
  if (s->cap > SHRINK_ABOVE) {
    free(s->held);
    s->held = NULL;
    s->cap = 0;
  }
}

void ae_lines_reset(ae_lines *s) {
  clear_held(s);
  s->count = 0;
  s->sticky = 0;
}

size_t ae_lines_pending(const ae_lines *s) { return s->len; }
unsigned long ae_lines_count(const ae_lines *s) { return s->count; }

static int hold(ae_lines *s, const char *p, size_t n) {
  if (n > s->max - s->len) return AE_LINES_TOO_BIG; /* (s->len <= s->max always) */
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : BUF_MIN;
    while (cap < s->len + n) cap *= 2;
    char *q = realloc(s->held, cap);
    if (!q) return AE_LINES_NOMEM;
    s->held = q;
    s->cap = cap;
  }
  memcpy(s->held + s->len, p, n);
  s->len += n;
  return 0;
}

/* One line with its "\r" (if any) still on: drop it, deliver. */
static int deliver(ae_lines *s, const char *p, size_t n, ae_lines_cb cb, void *ud) {
  if (n > 0 && p[n - 1] == '\r') n--;
  s->count++;
  return cb ? cb(ud, n ? p : "", n) : 0;
}

int ae_lines_feed(ae_lines *s, const char *buf, size_t len, ae_lines_cb cb, void *ud) {
  if (s->sticky) return s->sticky;
  const char *p = buf, *end = buf ? buf + len : buf;
  int rc = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) { /* the line goes on in the next feed */
      rc = hold(s, p, (size_t)(end - p));
      break;
    }
    size_t n = (size_t)(nl - p);
    if (s->len) { /* the end of a held line */
      rc = hold(s, p, n);
      if (rc) break;
      rc = deliver(s, s->held, s->len, cb, ud);
      clear_held(s);
    } else if (n > s->max) {
      rc = AE_LINES_TOO_BIG;
    } else {
      rc = deliver(s, p, n, cb, ud);
    }
    if (rc) break;
    p = nl + 1;
  }
  s->sticky = rc;
  return rc;
}

int ae_lines_finish(ae_lines *s, ae_lines_cb cb, void *ud) {
  int rc = s->sticky;
  if (!rc && s->len && !(s->len == 1 && s->held[0] == '\r')) rc = deliver(s, s->held, s->len, cb, ud);
  ae_lines_reset(s);
  return rc;
}
