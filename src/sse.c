/* sse.c - incremental Server-Sent Events parser (see sse.h for the rules).
 * Complete lines are parsed straight from the caller's bytes; only a line cut by the end of a
 * feed is copied, into `line`. Data goes once into `data`. No allocation per byte or per event
 * once the buffers have grown to the stream's event size. */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#define BUF_MIN 256
#define SHRINK_ABOVE ((size_t)64 << 10) /* release a buffer grown past this once it is empty */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

struct ae_sse {
  size_t max;         /* max_event */
  sbuf line;          /* the unfinished line, when a feed ended inside one */
  sbuf data;          /* data lines joined with "\n" */
  sbuf event;         /* event name */
  sbuf id;            /* last event id (persists across events) */
  sbuf held;          /* input kept after a callback stopped us; parsed from held_off */
  size_t held_off;
  size_t since_blank; /* input bytes since the last blank line, for ae_sse_finish */
  long retry;         /* retry: of the event being built, -1 if none */
  int has_data;       /* a data line was seen: WHATWG's "data buffer is not empty" */
  int skip_lf;        /* last line ended in '\r': a '\n' next is part of that line end */
  int bom;            /* bytes of the BOM matched so far; 3 when past the stream start */
  int err;            /* sticky error, 0 if none */
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

/* ---------- buffers ---------- */

/* Make room for n more bytes plus a NUL; doubling keeps appends amortised O(1). */
static int buf_reserve(sbuf *b, size_t n) {
  size_t need = b->len + n + 1, cap = b->cap ? b->cap : BUF_MIN;
  char *p;
  if (need < b->len) return AE_SSE_NOMEM; /* size_t overflow */
  if (need <= b->cap) return 0;
  while (cap < need) cap = (cap > (size_t)-1 / 2) ? need : cap * 2;
  p = realloc(b->p, cap);
  if (p == NULL) return AE_SSE_NOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

static int buf_append(sbuf *b, const char *s, size_t n) {
  if (buf_reserve(b, n)) return AE_SSE_NOMEM;
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static int buf_set(sbuf *b, const char *s, size_t n) {
  b->len = 0;
  return buf_append(b, s, n);
}

/* Empty it; give the memory back if one huge event made it large. */
static void buf_clear(sbuf *b) {
  b->len = 0;
  if (b->cap > SHRINK_ABOVE) {
    free(b->p);
    b->p = NULL;
    b->cap = 0;
  } else if (b->p) {
    b->p[0] = '\0'; /* buf_str must read "" */
  }
}

static void buf_free(sbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* A NUL-terminated view, "" for a buffer never written. */
static const char *buf_str(const sbuf *b) { return b->p ? b->p : ""; }

/* ---------- fields and dispatch ---------- */

static int field_is(const char *name, size_t n, const char *want) {
  return strlen(want) == n && memcmp(name, want, n) == 0;
}

/* WHATWG: only ASCII digits, else the field is ignored. Saturates rather than wrapping. */
static void set_retry(ae_sse *s, const char *v, size_t n) {
  long x = 0;
  if (n == 0) return;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return;
    x = (x > 99999999999L) ? x : x * 10 + (v[i] - '0'); /* far past any sane delay */
  }
  s->retry = x;
}

static int on_field(ae_sse *s, const char *name, size_t nlen, const char *v, size_t vlen) {
  if (field_is(name, nlen, "data")) {
    if (s->has_data && buf_append(&s->data, "\n", 1)) return AE_SSE_NOMEM;
    s->has_data = 1;
    return buf_append(&s->data, v, vlen);
  }
  if (field_is(name, nlen, "event")) return buf_set(&s->event, v, vlen);
  if (field_is(name, nlen, "id")) return memchr(v, '\0', vlen) ? 0 : buf_set(&s->id, v, vlen);
  if (field_is(name, nlen, "retry")) set_retry(s, v, vlen);
  return 0; /* unknown field */
}

/* Blank line: hand the event over if it has data, then start a new one either way. */
static int dispatch(ae_sse *s, ae_sse_cb cb, void *ud) {
  int rc = 0;
  if (s->has_data) {
    ae_sse_event ev;
    ev.event = buf_str(&s->event);
    ev.event_len = s->event.len;
    ev.data = buf_str(&s->data);
    ev.data_len = s->data.len;
    ev.id = buf_str(&s->id);
    ev.id_len = s->id.len;
    ev.retry_ms = s->retry;
    rc = cb ? cb(ud, &ev) : 0;
  }
  buf_clear(&s->data);
  buf_clear(&s->event);
  s->has_data = 0;
  s->retry = -1;
  s->since_blank = 0;
  return rc;
}

/* One complete, non-blank line without its line end. Returns 0 or an error. */
static int on_line(ae_sse *s, const char *p, size_t n) {
  const char *colon;
  if (p[0] == ':') return 0; /* comment */
  colon = memchr(p, ':', n);
  if (colon == NULL) return on_field(s, p, n, "", 0);
  {
    const char *v = colon + 1, *end = p + n;
    if (v < end && *v == ' ') v++;
    return on_field(s, p, (size_t)(colon - p), v, (size_t)(end - v));
  }
}

/* ---------- the byte loop ---------- */

/* The first '\n' or '\r' in [p, end), or end. Two memchr scans (vectorised in libc) instead of
 * a loop per byte: a stream's time goes here. */
static const char *find_eol(const char *p, const char *end) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  const char *stop = nl ? nl : end;
  const char *cr = memchr(p, '\r', (size_t)(stop - p));
  return cr ? cr : stop;
}

/* Bytes held for the current event; the limit applies to this plus the line in progress. */
static size_t event_bytes(const ae_sse *s) { return s->data.len + s->event.len; }

/* At stream start: match the BOM a byte at a time, since it may be cut across feeds.
 * Returns 1 if c was part of it. On a mismatch the bytes matched so far were content. */
static int bom_byte(ae_sse *s, unsigned char c) {
  if (c == BOM[s->bom]) {
    s->bom++;
    return 1;
  }
  if (s->bom > 0) {
    if (buf_append(&s->line, (const char *)BOM, (size_t)s->bom)) s->err = AE_SSE_NOMEM;
    s->since_blank += (size_t)s->bom;
  }
  s->bom = 3;
  return 0;
}

/* Parse [p, p+n). *used gets the bytes taken: all, unless the callback stopped us (then up
 * to the end of that event's blank line) or an error occurred. Returns the callback's stop
 * value or 0; an error goes to s->err, so a callback's value is never mistaken for one. */
static int parse(ae_sse *s, const char *p, size_t n, size_t *used, ae_sse_cb cb, void *ud) {
  const char *start = p, *end = p + n;
  int stop = 0;
  while (p < end && !stop && !s->err) {
    const char *eol, *line;
    size_t len;
    if (s->skip_lf) { /* the '\n' of a "\r\n" whose '\r' ended the last line */
      s->skip_lf = 0;
      if (*p == '\n') {
        p++;
        continue;
      }
    }
    if (s->bom < 3 && bom_byte(s, (unsigned char)*p)) {
      p++;
      continue;
    }
    eol = find_eol(p, end);
    len = s->line.len + (size_t)(eol - p);
    if (len + event_bytes(s) > s->max) {
      s->err = AE_SSE_TOO_BIG;
      break;
    }
    if (eol == end) { /* cut by the end of the feed: keep it for next time */
      if (buf_append(&s->line, p, (size_t)(end - p))) s->err = AE_SSE_NOMEM;
      s->since_blank += (size_t)(end - p);
      p = end;
      break;
    }
    line = p;
    if (s->line.len) {
      if (buf_append(&s->line, p, (size_t)(eol - p))) {
        s->err = AE_SSE_NOMEM;
        break;
      }
      line = s->line.p;
    }
    s->since_blank += (size_t)(eol - p) + 1;
    s->skip_lf = (*eol == '\r');
    p = eol + 1;
    if (len == 0)
      stop = dispatch(s, cb, ud);
    else
      s->err = on_line(s, line, len);
    buf_clear(&s->line);
  }
  *used = (size_t)(p - start);
  return stop;
}

/* ---------- public API ---------- */

ae_sse *ae_sse_new(size_t max_event) {
  ae_sse *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->max = max_event ? max_event : AE_SSE_DEFAULT_MAX;
  s->retry = -1;
  return s;
}

static void release(ae_sse *s) {
  buf_free(&s->line);
  buf_free(&s->data);
  buf_free(&s->event);
  buf_free(&s->id);
  buf_free(&s->held);
}

void ae_sse_free(ae_sse *s) {
  if (s == NULL) return;
  release(s);
  free(s);
}

void ae_sse_reset(ae_sse *s) {
  size_t max = s->max;
  release(s);
  memset(s, 0, sizeof *s);
  s->max = max;
  s->retry = -1;
}

/* After an error the event in progress is lost: do not sit on up to max_event bytes. */
static int fail(ae_sse *s) {
  buf_free(&s->line);
  buf_free(&s->data);
  buf_free(&s->held);
  s->held_off = 0;
  return s->err;
}

int ae_sse_feed(ae_sse *s, const char *buf, size_t len, ae_sse_cb cb, void *ud) {
  size_t used;
  int stop;
  if (s->err) return s->err;
  if (buf == NULL) len = 0;
  if (s->held.len > s->held_off) { /* a callback stopped us before: those bytes come first */
    if (s->held_off) { /* slide the rest to the front so held does not creep */
      memmove(s->held.p, s->held.p + s->held_off, s->held.len - s->held_off);
      s->held.len -= s->held_off;
      s->held_off = 0;
    }
    if (len && buf_append(&s->held, buf, len)) {
      s->err = AE_SSE_NOMEM;
      return fail(s);
    }
    stop = parse(s, s->held.p + s->held_off, s->held.len - s->held_off, &used, cb, ud);
    if (s->err) return fail(s);
    s->held_off += used;
    if (s->held_off == s->held.len) {
      buf_clear(&s->held);
      s->held_off = 0;
    }
    return stop;
  }
  if (len == 0) return 0; /* nothing held, nothing new (and no arithmetic on a NULL buf) */
  stop = parse(s, buf, len, &used, cb, ud);
  if (s->err) return fail(s);
  if (used < len && buf_append(&s->held, buf + used, len - used)) {
    s->err = AE_SSE_NOMEM;
    return fail(s);
  }
  return stop;
}

int ae_sse_finish(ae_sse *s, size_t *discarded) {
  size_t n = s->since_blank + (s->held.len - s->held_off) + (s->bom < 3 ? (size_t)s->bom : 0);
  int r = s->err != 0 || n > 0;
  if (discarded) *discarded = n;
  ae_sse_reset(s);
  return r;
}
