/* engine.c - libcurl multi engine: transfers, attempts, retries, connection reuse, streams.
 * Never calls Lua. libcurl callbacks only copy bytes into the transfer's buffers (for a
 * stream: through the SSE parser into the transfer's event queue; in line mode: through the
 * line splitter into the same queue, one line an entry). */
#include "engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <curl/curl.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "curl_alloc.h"
#include "platform.h"
#include "pollset.h"
#include "retry.h"
#include "route.h"
#include "lines.h"
#include "sse.h"

#define DEFAULT_MAX_BODY (64u * 1024u * 1024u)
/* libcurl allocates a transfer's receive buffer for each transfer, and curl_alloc.c wipes it when
 * it is freed, all of it. A plain answer (headers and a typical message) fits in 4 KiB, so that is
 * what it gets: a larger answer takes a few more reads. A stream keeps libcurl's 16 KiB: its bytes
 * keep coming, and reads of whole buffers keep the event rate up. */
#define ANSWER_BUFFER 4096L
#define STREAM_BUFFER 16384L
#define SPEND_CAP_CODE "enforced_spend_limit_reached"

typedef enum { XS_WAITING, XS_RUNNING, XS_DONE } xstate;

/* Why a stream is paused: its queue is full (resumed when the caller drains it), or the
 * step's budget is spent (resumed by the next step). */
typedef enum { PAUSE_NONE, PAUSE_QUEUE, PAUSE_BUDGET } pausing;

#define QUEUE_LOW_EVENTS (AE_QUEUE_HIGH_EVENTS / 2)
#define QUEUE_LOW_BYTES (AE_QUEUE_HIGH_BYTES / 2)

/* One queued event: the node, then name and data, each NUL-terminated. */
typedef struct qnode {
  struct qnode *next;
  size_t size;             /* bytes counted against the queue */
  ae_event ev;
  char buf[];
} qnode;

/* A response header: offsets into the transfer's header buffer, where on_header copies each
 * line as it came (one growing allocation for all of them). Most answers' headers are never
 * looked at, so a line is parsed in place only when one is (parse_headers): then name is the
 * lower-cased name and value the trimmed value, each NUL-terminated; before, value is the
 * colon's offset. end is where the line ends (a NUL follows it). */
typedef struct hdr {
  size_t name, value, end;
} hdr;

struct ae_xfer {
  ae_engine *eng;          /* NULL once the engine is gone */
  ae_xfer *prev, *next;    /* every transfer of the engine */
  CURL *easy;
  xstate state;
  double due;              /* monotonic time the next attempt may start */
  void *request;           /* one block: the header list's nodes and lines, then the body */
  struct curl_slist *headers;  /* in request; the first node points at the key's auth line */
  char *body;              /* in request: a copy of the body, NUL-terminated; NULL if none */
  int max_retries, idempotent;
  int safe;                /* GET or HEAD: nothing for the server to act on */
  double retry_after_cap;
  size_t max_body;
  ae_secret *key;          /* a reference to the key: its header line, scrubbing messages */
  int loopback_only;       /* plain http to a loopback host: every peer must be loopback (route.h) */
  int peer_refused;        /* this attempt refused to connect to a peer that is not loopback */
  char peer[64];           /* ... that peer's address */
  /* the current attempt's answer */
  int status;
  char *resp;
  size_t resp_len, resp_cap;
  int too_big;
  int consumed;            /* the answer was decoded where it lay, and its buffer freed */
  hdr *hdrs;
  size_t nhdrs, hdrs_cap;
  size_t hparsed;          /* hdrs[0 .. hparsed) are parsed */
  char *hbuf;              /* the header lines */
  size_t hbuf_len, hbuf_cap;
  /* outcome */
  int attempts;
  int error;
  int ambiguous, retryable;
  double retry_after;
  ae_history *hist;
  size_t nhist;
  /* streams */
  int stream;              /* the request asked for a stream */
  int started;             /* this attempt got 2xx headers: the body is an event stream */
  int event_stream;        /* this attempt's Content-Type is text/event-stream */
  double idle;             /* seconds without a byte before a stream attempt fails, 0 = none */
  double last_io;          /* monotonic time of the last byte (or of the attempt's start) */
  double deadline;         /* the request's total limit in seconds (0 = none), and when it ends */
  double deadline_at;
  int expired;             /* the deadline passed: a timeout, never retried */
  pausing paused;
  ae_sse *sse;
  int line_mode;           /* the request asked for its 2xx body as lines (req.lines) */
  ae_lines *lsplit;        /* ... split by this; the queue's entries are then lines */
  size_t max_event;
  int sse_err;             /* AE_SSE_* error that stopped this attempt, 0 if none */
  int clean;               /* done: the stream ended on an event boundary */
  long nevents;
  qnode *qhead, *qtail;
  size_t qcount, qbytes;
  /* Last, and not zeroed when the transfer is made (ae_submit): most transfers never write more
   * than their first byte, and with many in flight the untouched bytes stay out of the cache. */
  char errbuf[CURL_ERROR_SIZE]; /* libcurl's message for the current attempt */
  char message[AE_ERRLEN];      /* ours, when the transfer failed */
};

/* Easy handles of freed transfers kept for the next ones: a new handle per request costs its
 * allocations, and their wiping by curl_alloc.c, every time. A pooled handle keeps the options
 * that never change (set_fixed_options); setup_easy sets every other one on each request, so
 * nothing of the previous request carries over and no curl_easy_reset is needed. */
#define EASY_POOL 16

/* Answer buffers (a transfer's body and header lines) of freed transfers, kept for the next ones
 * (at most SPARE_BUFS, each at most SPARE_MAX bytes): with many transfers in flight, a fresh
 * 4 KiB malloc per answer made glibc consolidate its free lists every time, and a buffer just
 * given back is still in the cache. */
#define SPARE_BUFS 64
#define SPARE_MAX (16u * 1024u)
typedef struct spare {
  char *buf;
  size_t cap;
} spare;

struct ae_engine {
  CURLM *multi;
  CURL *pool[EASY_POOL];
  int npool;
  spare spares[SPARE_BUFS];
  int nspares;
  ae_xfer *xfers;
  int running;
  uint64_t rng;
  long connections;
  size_t budget_bytes, budget_events; /* per step, 0 = unlimited */
  size_t step_bytes, step_events;     /* spent in the current step */
  ae_pollset *ps;                     /* made by the first ae_engine_pollfd, then kept in sync */
  unsigned long changes;              /* ae_engine_changes */
  char *checked;                      /* "scheme://authority" of the last URL check_url passed */
  size_t checked_len;
  int checked_key;                    /* ... with a key to send */
  ae_route checked_route;             /* ... and its route */
  /* libcurl's built-in CA file and directory (static strings of libcurl's, maybe NULL), read
   * from the first new handle: what a request without ca_file/ca_path gets back on a pooled one */
  const char *default_cainfo, *default_capath;
  int ca_defaults_known;
  char *warmed_ca;                    /* the CA file the last TLS warm-up loaded ("" the defaults) */
};

/* ---- small helpers ---- */

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rand01(ae_engine *e) { /* xorshift64*: jitter only, not secrets */
  e->rng ^= e->rng >> 12;
  e->rng ^= e->rng << 25;
  e->rng ^= e->rng >> 27;
  return (double)((e->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void set_err(char *err, size_t errlen, const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
}

/* A transfer may now be ready for its reader: done, started, or with an event queued. */
static void changed(ae_xfer *x) {
  if (x->eng) x->eng->changes++;
}

static void mark_done(ae_xfer *x) {
  x->state = XS_DONE;
  changed(x);
}

/* ---- libcurl callbacks: copy bytes, nothing else ---- */

/* ae_sse_cb: copy one parsed event into the queue. */
static int queue_event(void *ud, const ae_sse_event *ev) {
  ae_xfer *x = ud;
  size_t size = ev->event_len + ev->data_len + 2;
  qnode *q = malloc(sizeof *q + size);
  if (!q) return 1; /* stop: on_stream reports it as out of memory */
  q->next = NULL;
  q->size = sizeof *q + size;
  memcpy(q->buf, ev->event, ev->event_len);
  q->buf[ev->event_len] = '\0';
  char *d = q->buf + ev->event_len + 1;
  memcpy(d, ev->data, ev->data_len);
  d[ev->data_len] = '\0';
  q->ev.name = q->buf;
  q->ev.name_len = ev->event_len;
  q->ev.data = d;
  q->ev.data_len = ev->data_len;
  if (x->qtail) x->qtail->next = q;
  else x->qhead = q;
  x->qtail = q;
  x->qcount++;
  x->qbytes += q->size;
  x->nevents++;
  if (x->eng) x->eng->step_events++;
  changed(x);
  return 0;
}

/* ae_lines_cb: copy one line into the queue, as an entry without a name. */
static int queue_line(void *ud, const char *line, size_t len) {
  ae_sse_event ev;
  memset(&ev, 0, sizeof ev);
  ev.event = "";
  ev.data = line;
  ev.data_len = len;
  return queue_event(ud, &ev);
}

static int budget_spent(const ae_engine *e) {
  return e && ((e->budget_bytes && e->step_bytes >= e->budget_bytes) ||
               (e->budget_events && e->step_events >= e->budget_events));
}

/* Room for n more bytes in buf (growing by doubling from min); 0 when out of memory. */
static int reserve(char **buf, size_t *cap, size_t used, size_t n, size_t min) {
  if (used + n <= *cap) return 1;
  size_t c = *cap ? *cap : min;
  while (c < used + n) c *= 2;
  char *p = realloc(*buf, c);
  if (!p) return 0;
  *buf = p;
  *cap = c;
  return 1;
}

/* reserve() for an answer buffer (*buf is NULL until the first byte): a spare one first. */
static int reserve_answer(ae_xfer *x, char **buf, size_t *cap, size_t used, size_t n, size_t min) {
  ae_engine *e = x->eng;
  if (!*buf && e && e->nspares > 0) {
    spare sp = e->spares[--e->nspares];
    *buf = sp.buf;
    *cap = sp.cap;
  }
  return reserve(buf, cap, used, n, min);
}

static void give_back(ae_engine *e, char *buf, size_t cap) {
  if (buf && e && e->nspares < SPARE_BUFS && cap <= SPARE_MAX) e->spares[e->nspares++] = (spare){buf, cap};
  else free(buf);
}

/* The body buffer holds at most max_body bytes and its NUL: it grows by doubling from 4 KiB but
 * never past that, so an answer at the cap costs max_body + 1 bytes, not twice as many. With a
 * Content-Length it is sized once, before the first byte (body_announced). */
static int reserve_body(ae_xfer *x, size_t n) {
  size_t need = x->resp_len + n, limit = x->max_body + 1;
  if (need <= x->resp_cap) return 1;
  if (!x->resp && x->eng && x->eng->nspares > 0) {
    spare sp = x->eng->spares[--x->eng->nspares];
    x->resp = sp.buf;
    x->resp_cap = sp.cap;
    if (need <= x->resp_cap) return 1;
  }
  size_t c = x->resp_cap ? x->resp_cap : 4096;
  while (c < need && c < limit) c = c > limit / 2 ? limit : c * 2;
  if (c < need) c = need;
  char *p = realloc(x->resp, c);
  if (!p) return 0;
  x->resp = p;
  x->resp_cap = c;
  return 1;
}

/* An answer over max_body: nothing of it is kept (the error says why), and its memory goes now. */
static void drop_body(ae_xfer *x) {
  x->too_big = 1;
  free(x->resp);
  x->resp = NULL;
  x->resp_len = x->resp_cap = 0;
}

/* At the end of a plain answer's headers: a Content-Length over max_body fails the attempt before
 * any byte of the body is read; one within it sizes the buffer once. -> 0 to abort */
static int body_announced(ae_xfer *x) {
  curl_off_t cl = -1;
  long code = 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK || cl < 0)
    return 1;
  if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
      (code < 200 || code == 204 || code == 304))
    return 1; /* no body follows */
  if ((uint64_t)cl > (uint64_t)x->max_body) {
    drop_body(x);
    return 0;
  }
  if ((size_t)cl + 1 > x->resp_cap) {
    /* sized exactly: the bytes of a previous attempt are not kept (resp_len is 0 here) */
    char *p = realloc(x->resp, (size_t)cl + 1);
    if (!p) return 0;
    x->resp = p;
    x->resp_cap = (size_t)cl + 1;
  }
  return 1;
}

/* Only streams have an idle limit; a plain request's clock reads would be wasted. */
static void touch(ae_xfer *x) {
  if (x->idle > 0) x->last_io = mono_now();
}

/* The body of a started stream. Pausing happens before any byte is taken, since libcurl
 * delivers the same bytes again after the pause; so the queue may pass its high-water mark by
 * at most the events of one delivery (at most CURL_MAX_WRITE_SIZE bytes, or one event). */
static size_t on_stream(ae_xfer *x, const char *data, size_t len) {
  if (x->qcount >= AE_QUEUE_HIGH_EVENTS || x->qbytes >= AE_QUEUE_HIGH_BYTES) {
    x->paused = PAUSE_QUEUE;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (budget_spent(x->eng)) {
    x->paused = PAUSE_BUDGET;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (x->eng) x->eng->step_bytes += len;
  int rc = x->line_mode ? ae_lines_feed(x->lsplit, data, len, queue_line, x)
                        : ae_sse_feed(x->sse, data, len, queue_event, x);
  if (rc != 0) {
    x->sse_err = rc < 0 ? rc : AE_SSE_NOMEM; /* a stop from queue_event is out of memory */
    return 0; /* abort: CURLE_WRITE_ERROR */
  }
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  ae_xfer *x = ud;
  size_t len = size * n;
  touch(x);
  if (x->started) return on_stream(x, data, len);
  if (len > x->max_body - x->resp_len) {
    drop_body(x);
    return 0; /* abort: CURLE_WRITE_ERROR */
  }
  if (!reserve_body(x, len + 1)) return 0;
  memcpy(x->resp + x->resp_len, data, len);
  x->resp_len += len;
  x->resp[x->resp_len] = '\0';
  return len;
}

static void clear_headers(ae_xfer *x) {
  x->event_stream = 0;
  x->nhdrs = 0;
  x->hparsed = 0;
  x->hbuf_len = 0;
}

/* Whether a header line is "Content-Type: text/event-stream" (parameters allowed). Only such a
 * body is parsed as events: a 2xx JSON or HTML page is read whole, as a plain answer, so that
 * the stream layer can say what came back instead of reporting a broken stream. */
static int is_event_stream_type(const char *data, size_t len) {
  static const char name[] = "content-type:", type[] = "text/event-stream";
  size_t i = sizeof name - 1, k;
  if (len < i || strncasecmp(data, name, i) != 0) return 0;
  while (i < len && (data[i] == ' ' || data[i] == '\t')) i++;
  k = sizeof type - 1;
  if (len - i < k || strncasecmp(data + i, type, k) != 0) return 0;
  i += k;
  return i == len || data[i] == ';' || data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
         data[i] == '\n';
}

static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  ae_xfer *x = ud;
  size_t len = size * n;
  touch(x);
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) { /* a new response (after 1xx): start over */
    clear_headers(x);
    return len;
  }
  if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n')) { /* end of the headers */
    long code = 0;
    if (x->stream && (x->event_stream || x->line_mode) &&
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200 &&
        code <= 299) {
      x->started = 1;
      changed(x);
    } else if (!body_announced(x)) {
      return 0; /* abort: CURLE_WRITE_ERROR */
    }
    return len;
  }
  const char *colon = memchr(data, ':', len);
  if (!colon) return len;
  if (is_event_stream_type(data, len)) x->event_stream = 1;
  if (x->nhdrs == x->hdrs_cap) {
    size_t cap = x->hdrs_cap ? x->hdrs_cap * 2 : 24;
    hdr *p = realloc(x->hdrs, cap * sizeof *p);
    if (!p) return 0;
    x->hdrs = p;
    x->hdrs_cap = cap;
  }
  if (!reserve_answer(x, &x->hbuf, &x->hbuf_cap, x->hbuf_len, len + 1, 1024)) return 0;
  hdr *h = &x->hdrs[x->nhdrs++];
  h->name = x->hbuf_len;
  h->value = x->hbuf_len + (size_t)(colon - data);
  h->end = x->hbuf_len + len;
  memcpy(x->hbuf + h->name, data, len);
  x->hbuf[h->end] = '\0';
  x->hbuf_len += len + 1;
  return len;
}

/* The lines on_header copied, parsed in place once: the name lower-cased up to the colon, the
 * value without the blanks around it and the line end. */
static void parse_headers(ae_xfer *x) {
  char *b = x->hbuf;
  for (; x->hparsed < x->nhdrs; x->hparsed++) {
    hdr *h = &x->hdrs[x->hparsed];
    for (size_t i = h->name; i < h->value; i++)
      if (b[i] >= 'A' && b[i] <= 'Z') b[i] = (char)(b[i] - 'A' + 'a');
    b[h->value] = '\0';
    size_t v = h->value + 1, e = h->end;
    while (v < e && (b[v] == ' ' || b[v] == '\t')) v++;
    while (e > v && (b[e - 1] == '\r' || b[e - 1] == '\n' || b[e - 1] == ' ')) e--;
    b[e] = '\0';
    h->value = v;
  }
}

static const char *find_header(ae_xfer *x, const char *name) {
  parse_headers(x);
  for (size_t i = x->nhdrs; i-- > 0;)
    if (strcmp(x->hbuf + x->hdrs[i].name, name) == 0) return x->hbuf + x->hdrs[i].value;
  return NULL;
}

/* ---- attempts ---- */

static int start_attempt(ae_xfer *x) {
  x->status = 0;
  x->resp_len = 0;
  x->too_big = 0;
  x->errbuf[0] = '\0';
  clear_headers(x);
  x->attempts++;
  x->started = 0; /* an attempt that never started queued no event */
  x->paused = PAUSE_NONE;
  x->sse_err = 0;
  x->peer_refused = 0;
  touch(x);
  if (x->sse) ae_sse_reset(x->sse);
  if (x->lsplit) ae_lines_reset(x->lsplit);
  if (curl_multi_add_handle(x->eng->multi, x->easy) != CURLM_OK) {
    mark_done(x);
    x->error = AE_ERR_CONNECTION;
    snprintf(x->message, sizeof x->message, "could not start the transfer");
    return -1;
  }
  x->state = XS_RUNNING;
  x->eng->running++;
  return 0;
}

static int transport_kind(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return AE_TR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
      return AE_TR_TIMEOUT;
    default:
      return AE_TR_RESET;
  }
}

/* The handshake failed: the certificate is not trusted or not for this host, or the peer does
 * not speak TLS. Kind "tls"; never retried (another attempt meets the same certificate). */
static int tls_failure(CURLcode rc) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return 1;
    default:
      return 0;
  }
}

/* TLS and protocol failures are not transient: retrying them only hides the cause. */
static int permanent_failure(CURLcode rc) {
  if (tls_failure(rc)) return 1;
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_OUT_OF_MEMORY:
      return 1;
    default:
      return 0;
  }
}

static void scrub_message(ae_xfer *x, const char *raw) {
  ae_scrub(raw, x->key, x->message, sizeof x->message);
}

static void describe_failure(ae_xfer *x, CURLcode rc, int tr) {
  char raw[AE_ERRLEN + CURL_ERROR_SIZE];
  const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
  if (x->peer_refused)
    snprintf(raw, sizeof raw, "refusing to send the request over plain http to %s, which is not a "
             "loopback address (the URL's host name resolved to it); plain http is allowed only "
             "to 127.0.0.0/8 and ::1: use https://, or an address literal such as 127.0.0.1",
             x->peer);
  else if (x->too_big)
    snprintf(raw, sizeof raw, "the response is larger than the limit of %zu bytes", x->max_body);
  else if (x->sse_err == AE_SSE_TOO_BIG && x->line_mode)
    snprintf(raw, sizeof raw, "a line of the answer is longer than the limit of %zu bytes", x->max_event);
  else if (x->sse_err == AE_SSE_TOO_BIG)
    snprintf(raw, sizeof raw, "a stream event is larger than the limit of %zu bytes", x->max_event);
  else if (x->sse_err)
    snprintf(raw, sizeof raw, "out of memory while reading the %s", x->line_mode ? "answer's lines" : "stream");
  else if (rc == CURLE_OUT_OF_MEMORY && x->status > 0) /* libcurl's words for a header over its limit */
    snprintf(raw, sizeof raw, "a response header is over libcurl's limit of %d bytes (or memory ran out)",
             CURL_MAX_HTTP_HEADER);
  else if (tr == AE_TR_TIMEOUT)
    snprintf(raw, sizeof raw, "request timed out: %s", detail);
  else if (tls_failure(rc))
    snprintf(raw, sizeof raw, "TLS handshake failed: %s", detail);
  else if (tr == AE_TR_CONNECT)
    snprintf(raw, sizeof raw, "could not connect: %s", detail);
  else
    snprintf(raw, sizeof raw, "connection failed: %s", detail);
  scrub_message(x, raw);
}

static void finish_attempt(ae_xfer *x, CURLcode rc) {
  ae_engine *e = x->eng;
  curl_multi_remove_handle(e->multi, x->easy);
  e->running--;

  ae_attempt a;
  memset(&a, 0, sizeof a);
  a.idempotent = x->idempotent;
  int permanent = 0;
  if (rc == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    x->status = a.status = (int)code;
    if (code >= 400) { /* what a failed answer says about retrying (an answer is not retried) */
      a.should_retry = find_header(x, "x-should-retry");
      a.retry_after = find_header(x, "retry-after");
      a.retry_after_ms = find_header(x, "retry-after-ms");
    }
    a.spend_cap = code == 429 && x->resp && strstr(x->resp, SPEND_CAP_CODE) != NULL;
    a.request_sent = 1;
    x->error = AE_ERR_NONE;
    x->message[0] = '\0';
  } else {
    long connect_code = 0;
    long sent = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &connect_code);
    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
    a.transport = transport_kind(rc);
    a.status = 0;
    /* Once request bytes went out (on a new or a reused connection), the server may have
     * read the request and acted on it. */
    a.request_sent = a.transport != AE_TR_CONNECT && sent > 0;
    permanent = permanent_failure(rc) || x->too_big || x->sse_err || x->expired || x->peer_refused;
    x->status = (int)connect_code;
    x->error = x->peer_refused ? AE_ERR_CONFIG
               : a.transport == AE_TR_TIMEOUT ? AE_ERR_TIMEOUT
               : tls_failure(rc) ? AE_ERR_TLS : AE_ERR_CONNECTION;
    describe_failure(x, rc, a.transport);
  }
  x->ambiguous = !x->safe && ae_retry_ambiguous(&a);
  x->retry_after = ae_retry_after_parse(a.retry_after_ms, a.retry_after, time(NULL));
  x->retryable = !permanent && ae_retry_should(&a);
  if (x->started && x->line_mode) {
    /* a whole body ends with its last line, even without a line end; a broken one does not
     * (that line may be cut short): it is dropped, and the transfer says why */
    int rc_lines = rc == CURLE_OK ? ae_lines_finish(x->lsplit, queue_line, x) : 1;
    if (rc != CURLE_OK) ae_lines_reset(x->lsplit);
    if (rc == CURLE_OK && rc_lines != 0) { /* out of memory for the last line */
      x->sse_err = AE_SSE_NOMEM;
      x->error = AE_ERR_CONNECTION;
      describe_failure(x, CURLE_OUT_OF_MEMORY, AE_TR_RESET);
    }
    x->clean = rc_lines == 0 && !x->sse_err;
    x->paused = PAUSE_NONE;
    x->retryable = 0;
    if (rc != CURLE_OK) x->ambiguous = 1;
  } else if (x->started) {
    /* events may have reached the caller: never retried, and the server has acted */
    x->clean = !ae_sse_finish(x->sse, NULL) && !x->sse_err;
    x->paused = PAUSE_NONE;
    x->retryable = 0;
    if (rc != CURLE_OK) x->ambiguous = 1;
  }
  int retries_taken = x->attempts - 1;
  if (x->retryable && retries_taken < x->max_retries) {
    double delay = ae_retry_delay(retries_taken, a.retry_after_ms, a.retry_after,
                                  x->retry_after_cap, time(NULL), rand01(e));
    ae_history *h = realloc(x->hist, (x->nhist + 1) * sizeof *h);
    if (h) {
      x->hist = h;
      h[x->nhist].status = x->status;
      h[x->nhist].error = x->error;
      h[x->nhist].delay = delay;
      x->nhist++;
    }
    x->state = XS_WAITING;
    x->due = mono_now() + delay;
    return;
  }
  mark_done(x);
}

/* ---- engine ---- */

/* libcurl closes a socket: the pollable fd must forget it before its number is reused. */
static int on_close_socket(void *ud, curl_socket_t fd) {
  ae_engine *e = ud;
  if (e->ps) ae_pollset_forget(e->ps, (int)fd);
  return close(fd);
}

/* libcurl opens a socket to connect to `a`: for a plain-http transfer that must stay on loopback
 * (localhost is a name: what it resolves to is what counts), any other peer is refused. Pure C,
 * no Lua: it only reads the transfer's flag and writes its refusal. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
  ae_xfer *x = ud;
  if (x && x->loopback_only && purpose == CURLSOCKTYPE_IPCXN &&
      !ae_sockaddr_is_loopback(&a->addr, a->addrlen)) {
    const void *sa = &a->addr, *in;
    if (a->family == AF_INET6) in = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    else in = &((const struct sockaddr_in *)sa)->sin_addr;
    if ((a->family != AF_INET && a->family != AF_INET6) ||
        !inet_ntop(a->family, in, x->peer, sizeof x->peer))
      snprintf(x->peer, sizeof x->peer, "an address of family %d", a->family);
    x->peer_refused = 1;
    return CURL_SOCKET_BAD;
  }
  return ae_socket(a->family, a->socktype, a->protocol, 0);
}

static int sockopt_count(void *ud, curl_socket_t fd, curlsocktype purpose) {
  (void)fd;
  if (purpose == CURLSOCKTYPE_IPCXN) ((ae_engine *)ud)->connections++;
  return CURL_SOCKOPT_OK;
}

ae_engine *ae_engine_new(char *err, size_t errlen) {
  ae_curl_global_init();
  ae_engine *e = calloc(1, sizeof *e);
  if (!e) {
    set_err(err, errlen, "out of memory");
    return NULL;
  }
  e->multi = curl_multi_init();
  if (!e->multi) {
    set_err(err, errlen, "curl_multi_init failed");
    free(e);
    return NULL;
  }
  if (ae_random_bytes(&e->rng, sizeof e->rng) != 0)
    e->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)e;
  if (!e->rng) e->rng = 0x9e3779b97f4a7c15ULL;
  e->budget_bytes = AE_STEP_BYTES;
  e->budget_events = AE_STEP_EVENTS;
  return e;
}

static void detach(ae_xfer *x) {
  ae_engine *e = x->eng;
  if (!e) return;
  if (x->state == XS_RUNNING) {
    curl_multi_remove_handle(e->multi, x->easy);
    e->running--;
  }
  if (x->prev) x->prev->next = x->next;
  else e->xfers = x->next;
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = NULL;
  x->eng = NULL;
}

void ae_xfer_cancel(ae_xfer *x) {
  if (!x || x->state == XS_DONE) return;
  ae_engine *e = x->eng;
  if (e && x->state == XS_RUNNING) {
    curl_multi_remove_handle(e->multi, x->easy);
    e->running--;
  }
  mark_done(x);
  x->paused = PAUSE_NONE;
  x->error = AE_ERR_CANCELED;
  x->retryable = 0;
  snprintf(x->message, sizeof x->message, "the request was canceled");
}

void ae_engine_free(ae_engine *e) {
  if (!e) return;
  while (e->xfers) {
    ae_xfer *x = e->xfers;
    ae_xfer_cancel(x);
    detach(x);
  }
  for (int i = 0; i < e->npool; i++) curl_easy_cleanup(e->pool[i]);
  for (int i = 0; i < e->nspares; i++) free(e->spares[i].buf);
  curl_multi_cleanup(e->multi);
  ae_pollset_free(e->ps);
  free(e->warmed_ca);
  free(e->checked);
  free(e);
}

/* The header list and the body in one block. libcurl only reads a CURLOPT_HTTPHEADER list, so
 * its nodes need not come from curl_slist_append. The key's line is not copied: its node points
 * at the key's own secret memory (ae_secret_header), which the transfer holds a reference to. */
static int build_request(ae_xfer *x, const ae_request *req) {
  static const char expect[] = "Expect:"; /* else libcurl sends "Expect: 100-continue" with large
                                           * bodies: one more round trip for nothing */
  const char *auth = NULL;
  if (req->key) {
    x->key = ae_secret_ref(req->key);
    if (!(auth = ae_secret_header(x->key, req->bearer))) return -1;
  }
  size_t nodes = req->nheaders + 1 + (auth != NULL), size = nodes * sizeof(struct curl_slist);
  size += sizeof expect;
  for (size_t i = 0; i < req->nheaders; i++) size += strlen(req->headers[i]) + 1;
  size_t body_at = size;
  if (req->body) size += req->body_len + 1;
  char *block = malloc(size);
  if (!block) return -1;
  x->request = block;
  struct curl_slist *node = (struct curl_slist *)block;
  char *text = block + nodes * sizeof *node;
  x->headers = node;
  if (auth) (node++)->data = (char *)auth;
  for (size_t i = 0; i <= req->nheaders; i++) {
    const char *line = i < req->nheaders ? req->headers[i] : expect;
    size_t len = strlen(line) + 1;
    memcpy(text, line, len);
    node->data = text;
    text += len;
    node++;
  }
  for (size_t i = 0; i + 1 < nodes; i++) x->headers[i].next = &x->headers[i + 1];
  x->headers[nodes - 1].next = NULL;
  if (req->body) {
    x->body = block + body_at;
    memcpy(x->body, req->body, req->body_len);
    x->body[req->body_len] = '\0';
  }
  return 0;
}

/* What every request of ours sets alike: set once on a new handle, kept while it is pooled. */
static int set_fixed_options(CURL *c, ae_engine *e) {
  int rc = 0;
#define SET(opt, val) rc |= (int)curl_easy_setopt(c, opt, val)
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  /* HTTP/1.1, also where the server offers HTTP/2: over HTTP/2, nghttp2 adds x-api-key to its
   * HPACK table (libcurl marks no header "never indexed"), in nghttp2's own memory, which no
   * allocator of ours wipes, for as long as the connection lives, and freed unwiped after
   * (spec/leak_spec.lua scans a core dump for it behind an h2 terminator). */
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_SOCKOPTFUNCTION, sockopt_count);
  SET(CURLOPT_SOCKOPTDATA, e);
  SET(CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  SET(CURLOPT_CLOSESOCKETDATA, e);
  SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
  /* our headers (x-api-key among them) go to the server only, never into a proxy's CONNECT */
  SET(CURLOPT_HEADEROPT, CURLHEADER_SEPARATE);
  SET(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
#undef SET
  return rc;
}

/* libcurl's default CA file and directory (its build's), read once from a new handle. */
static void know_ca_defaults(ae_engine *e, CURL *c) {
  if (e->ca_defaults_known) return;
  char *path = NULL;
  if (curl_easy_getinfo(c, CURLINFO_CAINFO, &path) == CURLE_OK) e->default_cainfo = path;
  path = NULL;
  if (curl_easy_getinfo(c, CURLINFO_CAPATH, &path) == CURLE_OK) e->default_capath = path;
  e->ca_defaults_known = 1;
}

/* The CAs to trust: the caller's instead of the system's, else libcurl's defaults. Of the
 * defaults, the bundle alone when there is one: libcurl keeps a parsed bundle in the multi handle
 * for the next connections (its CA cache, 7.87+) only when no CA directory is set, and Debian's
 * libcurl defaults to both (/etc/ssl/certs/ca-certificates.crt and /etc/ssl/certs, the same
 * certificates): with both, every new HTTPS connection parsed the whole bundle again inside one
 * step (about 15 ms here: docs/embedding.md, host-bench). libcurl copies the strings. */
static int set_ca(CURL *c, const ae_engine *e, const char *ca_file, const char *ca_path) {
  int own_ca = ca_file || ca_path, rc = 0;
  rc |= (int)curl_easy_setopt(c, CURLOPT_CAINFO, own_ca ? ca_file : e->default_cainfo);
  rc |= (int)curl_easy_setopt(c, CURLOPT_CAPATH, own_ca ? ca_path : e->default_cainfo ? NULL : e->default_capath);
  return rc;
}

static CURL *take_easy(ae_engine *e) {
  if (e->npool > 0) return e->pool[--e->npool];
  CURL *c = curl_easy_init();
  if (c) know_ca_defaults(e, c);
  if (c && set_fixed_options(c, e) != CURLE_OK) {
    curl_easy_cleanup(c);
    return NULL;
  }
  return c;
}

/* Back to the engine's pool, or freed. Only a handle outside the multi handle and not in the
 * middle of a transfer is kept; it forgets the pointers into the freed transfer. */
static void release_easy(ae_engine *e, CURL *easy, int reusable) {
  if (!easy) return;
  if (e && reusable && e->npool < EASY_POOL) {
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, NULL);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    e->pool[e->npool++] = easy;
  } else {
    curl_easy_cleanup(easy);
  }
}

void ae_xfer_free(ae_xfer *x) {
  if (!x) return;
  /* a transfer canceled while running may leave its handle paused or half-way: not reused */
  int reusable = x->state != XS_RUNNING && x->paused == PAUSE_NONE;
  ae_engine *e = x->eng;
  ae_xfer_cancel(x);
  detach(x);
  release_easy(e, x->easy, reusable);
  free(x->request);
  ae_secret_free(x->key);
  free(x->hdrs);
  give_back(e, x->hbuf, x->hbuf_cap);
  give_back(e, x->resp, x->resp_cap);
  free(x->hist);
  while (x->qhead) {
    qnode *q = x->qhead;
    x->qhead = q->next;
    free(q);
  }
  ae_sse_free(x->sse);
  ae_lines_free(x->lsplit);
  free(x);
}

/* Length of the "scheme://authority" that starts url, 0 when it has none. */
static size_t origin_len(const char *url) {
  const char *p = strstr(url, "://");
  if (!p) return 0;
  p += 3;
  return (size_t)(p + strcspn(p, "/?#") - url);
}

/* A URL on the origin the last check passed (with a key if this one has one), and nothing
 * further on that curl_url_set would refuse (control bytes, spaces), needs no new parse:
 * all but the path is the same. */
static int checked_before(const ae_engine *e, const ae_request *req) {
  if (!e->checked || (req->key && !e->checked_key)) return 0;
  if (req->proxy && *req->proxy) return 0; /* a proxy option is checked on every request */
  if (strncmp(req->url, e->checked, e->checked_len) != 0 || origin_len(req->url) != e->checked_len)
    return 0;
  for (const unsigned char *p = (const unsigned char *)req->url + e->checked_len; *p; p++)
    if (*p <= ' ' || *p == 0x7f) return 0;
  return 1;
}

static void remember_check(ae_engine *e, const ae_request *req, const ae_route *r) {
  size_t n = origin_len(req->url);
  char *o = n ? malloc(n + 1) : NULL;
  if (!o) return; /* then the next URL is parsed again */
  memcpy(o, req->url, n);
  o[n] = '\0';
  free(e->checked);
  e->checked = o;
  e->checked_len = n;
  e->checked_key = req->key != NULL;
  e->checked_route = *r;
}

/* Refuse what must never be sent (route.h): non-http(s) schemes, keys over plain http off
 * loopback, a proxy libcurl cannot use. *r: how the request goes. */
static int check_url(ae_engine *e, const ae_request *req, ae_route *r, char *err, size_t errlen) {
  if (checked_before(e, req)) {
    *r = e->checked_route;
    return 1;
  }
  if (!ae_route_check(req->url, req->key != NULL, req->proxy, r, err, errlen)) return 0;
  remember_check(e, req, r);
  return 1;
}

/* Every option that may differ between requests, set on each (a pooled handle still holds the
 * previous request's). */
static int setup_easy(ae_xfer *x, const ae_request *req, const ae_route *route) {
  CURL *c = x->easy;
  int rc = 0;
  int get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
#define SET(opt, val) rc |= (int)curl_easy_setopt(c, opt, val)
  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_WRITEDATA, x);
  SET(CURLOPT_HEADERDATA, x);
  SET(CURLOPT_PRIVATE, x);
  SET(CURLOPT_HTTPHEADER, x->headers);
  /* route.h: a loopback target directly ("" ignores the environment's proxies); else the proxy
   * option, or (NULL) the one libcurl takes from the environment, NO_PROXY honoured; https only
   * through a CONNECT tunnel */
  SET(CURLOPT_PROXY, route->direct ? "" : req->proxy);
  SET(CURLOPT_HTTPPROXYTUNNEL, route->https ? 1L : 0L);
  SET(CURLOPT_OPENSOCKETDATA, x);
  x->loopback_only = route->loopback_only;
  /* the CAs to trust (a pooled handle still holds the previous request's) */
  rc |= set_ca(c, x->eng, req->ca_file, req->ca_path);
  /* a stream has no total limit (a healthy one may run for long): x->idle instead */
  SET(CURLOPT_TIMEOUT_MS, req->timeout > 0 && !(req->stream || req->lines) ? (long)(req->timeout * 1000.0) : 0L);
  SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout > 0 ? (long)(req->connect_timeout * 1000.0) : 0L);
  int slow = req->min_speed > 0 && req->min_speed_time > 0 && !(req->stream || req->lines);
  SET(CURLOPT_LOW_SPEED_LIMIT, slow ? req->min_speed : 0L); /* fails with CURLE_OPERATION_TIMEDOUT */
  SET(CURLOPT_LOW_SPEED_TIME, slow ? req->min_speed_time : 0L);
  /* libcurl silently sends a request again when its reused connection dies before an answer;
   * the server may have acted on the first copy, so a non-idempotent request gets a new one */
  SET(CURLOPT_FRESH_CONNECT, req->idempotent ? 0L : 1L);
  /* GET first: it undoes a previous request's POST; a body-less DELETE stays without one */
  SET(CURLOPT_HTTPGET, 1L);
  /* libcurl 7.88 refuses a new size while the handle still holds its buffer (a handle whose last
   * transfer failed may): it then reads with the size it has, which works as well */
  (void)curl_easy_setopt(c, CURLOPT_BUFFERSIZE, req->stream || req->lines ? STREAM_BUFFER : ANSWER_BUFFER);
  SET(CURLOPT_CUSTOMREQUEST, get || post ? NULL : req->method);
  if (x->body || post) {
    SET(CURLOPT_POSTFIELDS, x->body ? x->body : "");
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(x->body ? req->body_len : 0));
  }
#undef SET
  return rc;
}

ae_xfer *ae_submit(ae_engine *e, const ae_request *req, char *err, size_t errlen) {
  ae_route route;
  if (!check_url(e, req, &route, err, errlen)) return NULL;
  ae_xfer *x = malloc(sizeof *x);
  if (!x) goto oom;
  memset(x, 0, offsetof(ae_xfer, errbuf)); /* the two message buffers only start empty */
  x->errbuf[0] = x->message[0] = '\0';
  x->eng = e;
  x->max_retries = req->max_retries < 0 ? 0 : req->max_retries;
  x->idempotent = req->idempotent;
  x->safe = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  x->retry_after_cap = req->retry_after_cap;
  x->max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
  x->retry_after = -1;
  x->easy = take_easy(e);
  if (!x->easy) goto oom_x;
  if (req->stream || req->lines) {
    x->stream = 1;
    x->idle = req->timeout > 0 ? req->timeout : 0;
    if (req->deadline > 0) {
      x->deadline = req->deadline;
      x->deadline_at = mono_now() + req->deadline;
    }
    x->max_event = req->max_event ? req->max_event : AE_SSE_DEFAULT_MAX;
    if (req->lines) {
      x->line_mode = 1;
      x->lsplit = ae_lines_new(x->max_event);
      if (!x->lsplit) goto oom_x;
    } else {
      x->sse = ae_sse_new(x->max_event);
      if (!x->sse) goto oom_x;
    }
  }
  if (build_request(x, req)) goto oom_x;
  if (setup_easy(x, req, &route) != CURLE_OK) {
    set_err(err, errlen, "libcurl refused an option (is it built with http and https?)");
    ae_xfer_free(x);
    return NULL;
  }
  x->next = e->xfers;
  if (e->xfers) e->xfers->prev = x;
  e->xfers = x;
  start_attempt(x);
  return x;
oom_x:
  ae_xfer_free(x);
oom:
  set_err(err, errlen, "out of memory");
  return NULL;
}

/* Attempts whose retry delay is over start; the clock is read only when one is waiting. */
static void start_due(ae_engine *e) {
  double now = -1;
  for (ae_xfer *x = e->xfers; x; x = x->next) {
    if (x->state != XS_WAITING) continue;
    if (now < 0) now = mono_now();
    if (x->due <= now) start_attempt(x);
  }
}

static int count_live(const ae_engine *e) {
  int n = 0;
  for (const ae_xfer *x = e->xfers; x; x = x->next) n += x->state != XS_DONE;
  return n;
}

/* Unpause a paused stream. libcurl may deliver the bytes it kept (and so queue events, or
 * pause again) before curl_easy_pause returns; a parser error then ends the attempt here. */
static void resume(ae_xfer *x) {
  if (x->paused == PAUSE_NONE) return;
  x->paused = PAUSE_NONE;
  x->last_io = mono_now(); /* time paused for the caller is not idle time */
  if (x->state != XS_RUNNING || !x->eng) return;
  CURLcode rc = curl_easy_pause(x->easy, CURLPAUSE_CONT);
  if (rc != CURLE_OK && x->state == XS_RUNNING) finish_attempt(x, rc);
}

static int over_high_water(const ae_xfer *x) {
  return x->qcount >= AE_QUEUE_HIGH_EVENTS || x->qbytes >= AE_QUEUE_HIGH_BYTES;
}

/* A new step, a new budget: streams paused for the last one go on (unless their queue is full). */
static void resume_budget(ae_engine *e) {
  e->step_bytes = e->step_events = 0;
  for (ae_xfer *x = e->xfers; x; x = x->next) {
    if (x->paused != PAUSE_BUDGET) continue;
    if (over_high_water(x)) x->paused = PAUSE_QUEUE;
    else resume(x);
  }
}

/* Stream attempts with no byte for x->idle seconds (and not paused by us) time out. */
static void check_idle(ae_engine *e) {
  double now = -1;
  for (ae_xfer *x = e->xfers; x; x = x->next) {
    if (x->state != XS_RUNNING || x->idle <= 0 || x->paused != PAUSE_NONE) continue;
    if (now < 0) now = mono_now();
    if (now - x->last_io >= x->idle) {
      snprintf(x->errbuf, sizeof x->errbuf, "no data received for %g seconds", x->idle);
      finish_attempt(x, CURLE_OPERATION_TIMEDOUT);
    }
  }
}

/* Streams past their total deadline fail as a timeout, not retried: while running (paused or
 * not) or while waiting for a retry. */
static void check_deadline(ae_engine *e) {
  double now = -1;
  for (ae_xfer *x = e->xfers; x; x = x->next) {
    if (x->deadline_at <= 0 || (x->state != XS_RUNNING && x->state != XS_WAITING)) continue;
    if (now < 0) now = mono_now();
    if (now < x->deadline_at) continue;
    x->expired = 1;
    if (x->state == XS_RUNNING) {
      snprintf(x->errbuf, sizeof x->errbuf, "the stream_deadline of %g seconds passed", x->deadline);
      finish_attempt(x, CURLE_OPERATION_TIMEDOUT);
    } else { /* its last attempt failed; the next one would start past the deadline */
      char raw[AE_ERRLEN];
      snprintf(raw, sizeof raw, "request timed out: the stream_deadline of %g seconds passed "
               "while waiting to retry", x->deadline);
      x->error = AE_ERR_TIMEOUT;
      x->retryable = 0;
      scrub_message(x, raw);
      mark_done(x);
    }
  }
}

/* Finish the attempts libcurl reports done. */
static void read_done(ae_engine *e) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(e->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    ae_xfer *x = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (x) finish_attempt(x, m->data.result);
  }
}

/* ---- TLS warm-up ---- */

static size_t warm_discard(char *p, size_t size, size_t n, void *ud) {
  (void)p, (void)ud;
  return size * n;
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. -> fd (port in *port) | -1 */
static int warm_listener(int *port) {
  int fd = ae_socket(AF_INET, SOCK_STREAM, 0, 1);
  if (fd < 0) return -1;
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int ae_engine_warm_tls(ae_engine *e, const char *ca_file, const char *ca_path) {
  const char *key = ca_file ? ca_file : "";
  if (ca_path || e->xfers || e->running) return 0; /* no cache with a directory; busy: not now */
  if (e->warmed_ca && strcmp(e->warmed_ca, key) == 0) return 1;
  int port, peer = -1, lfd = warm_listener(&port);
  if (lfd < 0) return 0;
  char url[64];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  CURL *c = curl_easy_init();
  int rc = !c;
  if (c) {
    know_ca_defaults(e, c);
#define SET(opt, val) rc |= (int)curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TIMEOUT_MS, 2000L);
    SET(CURLOPT_WRITEFUNCTION, warm_discard);
#undef SET
    rc |= set_ca(c, e, ca_file, NULL);
  }
  int done = 0;
  if (!rc && curl_multi_add_handle(e->multi, c) == CURLM_OK) {
    /* what answers the ClientHello: bytes that are not TLS, so the handshake ends at once (the CA
     * file is loaded before the ClientHello goes out) */
    static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    for (int i = 0; i < 200 && !done; i++) {
      int still = 0, left = 0, n = 0;
      curl_multi_perform(e->multi, &still);
      if (peer < 0 && (peer = accept(lfd, NULL, NULL)) >= 0 && write(peer, junk, sizeof junk - 1) < 0) {
        close(peer);
        peer = -2; /* (not -1: accept no other) */
      }
      CURLMsg *m;
      while ((m = curl_multi_info_read(e->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == c) done = 1;
      if (!done) curl_multi_poll(e->multi, NULL, 0, 5, &n);
    }
    curl_multi_remove_handle(e->multi, c);
  }
  if (c) curl_easy_cleanup(c);
  if (peer >= 0) close(peer);
  close(lfd);
  if (!done || peer == -1) return 0;
  free(e->warmed_ca);
  e->warmed_ca = strdup(key);
  return 1;
}

/* Mirror libcurl's current socket interest into the pollable fd, when a host asked for one. */
static void sync_pollset(ae_engine *e) {
  fd_set r, w, x;
  int maxfd = -1;
  if (!e->ps) return;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_ZERO(&x);
  curl_multi_fdset(e->multi, &r, &w, &x, &maxfd);
  ae_pollset_sync(e->ps, &r, &w, maxfd);
}

int ae_engine_pollfd(ae_engine *e) {
  if (!e->ps && !(e->ps = ae_pollset_new())) return -1;
  sync_pollset(e);
  return ae_pollset_fd(e->ps);
}

int ae_engine_step(ae_engine *e) {
  int still;
  resume_budget(e);
  start_due(e);
  curl_multi_perform(e->multi, &still);
  read_done(e);
  check_idle(e);
  check_deadline(e);
  /* a retry with no delay starts now rather than one step later */
  start_due(e);
  if (e->running) {
    curl_multi_perform(e->multi, &still);
    /* an attempt this perform finished (a refused connect, a quick answer) leaves libcurl with
     * no timer: unread, it would wait for the next poll's fallback timeout */
    read_done(e);
  }
  sync_pollset(e);
  return count_live(e);
}

double ae_engine_timeout(const ae_engine *e) {
  double best = -1;
  if (e->running) {
    long ms = -1;
    curl_multi_timeout(e->multi, &ms);
    if (ms >= 0) best = (double)ms / 1000.0;
    else best = 1.0; /* libcurl has no timer: poll sockets, and look again soon */
  }
  double now = -1; /* read once, and only when a transfer has a deadline of ours */
  for (const ae_xfer *x = e->xfers; x; x = x->next) {
    double d;
    if (x->state != XS_RUNNING && x->state != XS_WAITING) continue;
    if (now < 0 && (x->state == XS_WAITING || x->idle > 0 || x->deadline_at > 0)) now = mono_now();
    if (x->deadline_at > 0) { /* whatever else it waits for, it ends then at the latest */
      d = x->deadline_at - now;
      if (d < 0) d = 0;
      if (best < 0 || d < best) best = d;
    }
    if (x->state == XS_WAITING) {
      d = x->due - now;
    } else if (x->state == XS_RUNNING && x->paused == PAUSE_BUDGET) {
      d = 0; /* the next step resumes it */
    } else if (x->state == XS_RUNNING && x->idle > 0 && x->paused == PAUSE_NONE) {
      d = x->last_io + x->idle - now;
    } else {
      continue;
    }
    if (d < 0) d = 0;
    if (best < 0 || d < best) best = d;
  }
  return best;
}

int ae_engine_wait(ae_engine *e, double max_wait) {
  double t = ae_engine_timeout(e);
  if (t < 0) return 0; /* idle: nothing will ever happen */
  if (max_wait >= 0 && max_wait < t) t = max_wait;
  if (t > 0) {
    if (e->running) {
      int fds = 0;
      curl_multi_poll(e->multi, NULL, 0, (int)ceil(t * 1000.0), &fds);
    } else {
      struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
      nanosleep(&ts, NULL); /* only retry delays are pending: nothing else can wake us */
    }
  }
  return ae_engine_step(e);
}

long ae_engine_connections(const ae_engine *e) { return e->connections; }
unsigned long ae_engine_changes(const ae_engine *e) { return e->changes; }

void ae_engine_set_budget(ae_engine *e, size_t bytes, size_t events) {
  e->budget_bytes = bytes;
  e->budget_events = events;
}

/* ---- results ---- */

int ae_xfer_done(const ae_xfer *x) { return x->state == XS_DONE; }
int ae_xfer_status(const ae_xfer *x) { return x->status; }
int ae_xfer_attempts(const ae_xfer *x) { return x->attempts; }
int ae_xfer_ambiguous(const ae_xfer *x) { return x->ambiguous; }
int ae_xfer_retryable(const ae_xfer *x) { return x->retryable; }
double ae_xfer_retry_after(const ae_xfer *x) { return x->retry_after; }
size_t ae_xfer_nheaders(const ae_xfer *x) { return x->nhdrs; }
size_t ae_xfer_nhistory(const ae_xfer *x) { return x->nhist; }

const char *ae_xfer_body(const ae_xfer *x, size_t *len) {
  *len = x->resp_len;
  return x->resp ? x->resp : "";
}

char *ae_xfer_body_mut(ae_xfer *x, size_t *len) {
  *len = x->resp_len;
  return x->resp;
}

void ae_xfer_drop_body(ae_xfer *x) {
  give_back(x->eng, x->resp, x->resp_cap);
  x->resp = NULL;
  x->resp_len = x->resp_cap = 0;
  x->consumed = 1;
}

int ae_xfer_consumed(const ae_xfer *x) { return x->consumed; }

void ae_xfer_header(const ae_xfer *x, size_t i, const char **name, const char **value) {
  parse_headers((ae_xfer *)x); /* memoised parsing: nothing a caller can see changes */
  *name = x->hbuf + x->hdrs[i].name;
  *value = x->hbuf + x->hdrs[i].value;
}

int ae_xfer_error(const ae_xfer *x, const char **msg) {
  *msg = x->message;
  return x->error;
}

const ae_history *ae_xfer_history(const ae_xfer *x, size_t i) {
  return i < x->nhist ? &x->hist[i] : NULL;
}

/* ---- streams ---- */

int ae_xfer_started(const ae_xfer *x) { return x->started; }
size_t ae_xfer_queued(const ae_xfer *x) { return x->qcount; }
size_t ae_xfer_queued_bytes(const ae_xfer *x) { return x->qbytes; }
long ae_xfer_events(const ae_xfer *x) { return x->nevents; }
int ae_xfer_stream_clean(const ae_xfer *x) { return x->clean; }

const ae_event *ae_xfer_peek_event(const ae_xfer *x) { return x->qhead ? &x->qhead->ev : NULL; }

void ae_xfer_drop_event(ae_xfer *x) {
  qnode *q = x->qhead;
  if (!q) return;
  x->qhead = q->next;
  if (!x->qhead) x->qtail = NULL;
  x->qcount--;
  x->qbytes -= q->size;
  free(q);
  if (x->paused == PAUSE_QUEUE && x->qcount <= QUEUE_LOW_EVENTS && x->qbytes <= QUEUE_LOW_BYTES) resume(x);
}
