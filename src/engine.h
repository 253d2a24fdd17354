/* engine.h - the HTTP engine: libcurl's multi interface, non-blocking, with retries.
 * No Lua headers: C hosts can drive it directly. One engine = one connection pool.
 *
 *   ae_engine *e = ae_engine_new();
 *   ae_xfer *x = ae_submit(e, &req, err, sizeof err);
 *   while (!ae_xfer_done(x)) ae_engine_wait(e, 1.0);     // or ae_engine_step() once a frame
 *   ... ae_xfer_status(x), ae_xfer_body(x, &len) ...
 *   ae_xfer_free(x); ae_engine_free(e);
 *
 * Retries happen inside the engine (retry.h): a failed attempt that may be retried waits for
 * its delay while other transfers keep going, then is added again.
 *
 * Streams (req.stream): once an attempt gets 2xx response headers the transfer has "started";
 * its body then goes through the SSE parser (sse.h) inside the write callback, and each event
 * is copied into the transfer's queue, which the caller drains with ae_xfer_peek_event and
 * ae_xfer_drop_event. The queue is bounded: above AE_QUEUE_HIGH_EVENTS events or
 * AE_QUEUE_HIGH_BYTES bytes the transfer is paused (CURL_WRITEFUNC_PAUSE, nothing lost), and it
 * resumes when the caller has drained it to half of that. A non-2xx answer is buffered as usual
 * and retried by the usual rules; a started stream is never retried. A stream has no total
 * time limit: req.timeout is an idle limit instead (no byte for that long fails the attempt
 * with AE_ERR_TIMEOUT; time spent paused because the caller is not draining does not count).
 *
 * Line mode (req.lines) reads a 2xx body that is not an event stream the same way, a line at a
 * time (see ae_request.lines).
 *
 * Every ae_engine_step has a budget of stream bytes and events (ae_engine_set_budget): when
 * it is spent, streams are paused until the next step, so one fast stream cannot eat a frame. */
#ifndef AE_ENGINE_H
#define AE_ENGINE_H

#include <stddef.h>
#include "secret.h"

typedef struct ae_engine ae_engine;
typedef struct ae_xfer ae_xfer;

typedef struct ae_request {
  const char *method;           /* "GET", "POST", "DELETE" ... */
  const char *url;
  const char *const *headers;   /* "Name: value" lines */
  size_t nheaders;
  const char *body;             /* may be NULL */
  size_t body_len;
  ae_secret *key;               /* may be NULL; referenced, so its owner may free it after submit */
  int bearer;                   /* send the key as Authorization: Bearer, else x-api-key */
  double timeout;               /* seconds per attempt (0 = none) */
  double connect_timeout;       /* seconds (0 = libcurl's default) */
  int max_retries;
  double retry_after_cap;       /* seconds; server-given delays above it fall back to backoff */
  int idempotent;               /* 0: never retried after an ambiguous failure */
  size_t max_body;              /* larger answers fail (0 = 64 MiB) */
  int stream;                   /* a 2xx answer is an event stream (see above) */
  /* Line mode: a 2xx answer, whatever its Content-Type, is read as lines (lines.h: JSONL, the
   * results of a Message Batch), each queued as an event with an empty name and the line as its
   * data; otherwise as a stream: started, the same queue bounds, pausing and step budget, an
   * idle limit instead of a total one, no max_body (the body may be far larger than memory), no
   * retry once started. The last line is queued when the body ends, even without its "\n";
   * a body cut short drops its unfinished line (and the transfer fails). */
  int lines;
  size_t max_event;             /* streams: larger events fail the stream (0 = 16 MiB); line
                                 * mode: longer lines fail the transfer */
  /* streams: seconds from submit to the stream's end, retries and pauses included; past it the
   * transfer fails as a timeout and is not retried (0 = none) */
  double deadline;
  /* Not for streams (their timeout is an idle limit): an attempt that moves fewer than
   * min_speed bytes/s for min_speed_time whole seconds fails as a timeout (0 = off). */
  long min_speed, min_speed_time;
  /* The proxy (route.h): NULL takes libcurl's from the environment, "" means none. Loopback
   * targets never use one; https goes through one only as a CONNECT tunnel. */
  const char *proxy;
  /* https: the CA certificates to trust instead of the system's (a PEM file, a directory
   * prepared with c_rehash), NULL for the system's. Copied by libcurl at submit. */
  const char *ca_file, *ca_path;
} ae_request;

/* One queued stream event (SSE "event:" name and "data:" lines joined with "\n"). Both
 * strings are also NUL-terminated; data may contain NUL bytes, so use the lengths. */
typedef struct ae_event {
  const char *name; size_t name_len; /* "" when the event had no "event:" line */
  const char *data; size_t data_len;
} ae_event;

#define AE_QUEUE_HIGH_EVENTS 256
#define AE_QUEUE_HIGH_BYTES ((size_t)1 << 20)
#define AE_STEP_BYTES ((size_t)1 << 20)  /* default per-step budget of stream bytes */
#define AE_STEP_EVENTS 1024              /* default per-step budget of stream events */

/* What went wrong with a transfer, when no HTTP answer settles it. */
/* AE_ERR_TLS: the TLS handshake failed (certificate not trusted, wrong host name, no TLS there). */
enum { AE_ERR_NONE = 0, AE_ERR_CONNECTION, AE_ERR_TIMEOUT, AE_ERR_CANCELED, AE_ERR_CONFIG, AE_ERR_TLS };

typedef struct ae_history {
  int status;       /* HTTP status of the failed attempt, 0 when none */
  int error;        /* AE_ERR_* of the failed attempt */
  double delay;     /* seconds waited before the next attempt */
} ae_history;

ae_engine *ae_engine_new(char *err, size_t errlen);
/* Cancels live transfers (they stay valid, done with AE_ERR_CANCELED) and frees the engine. */
void ae_engine_free(ae_engine *e);

/* Refuses (NULL, err set) a URL that is not http(s), a key sent over plain http to a host that
 * is not loopback, or a proxy libcurl cannot use (route.h). Other failures happen later and show
 * in the transfer (AE_ERR_CONFIG: a plain-http host name connected to a peer off loopback). */
ae_xfer *ae_submit(ae_engine *e, const ae_request *req, char *err, size_t errlen);

int ae_engine_step(ae_engine *e);                  /* never blocks; returns live transfers */
double ae_engine_timeout(const ae_engine *e);
/* Loads the CAs a request with these ca_file/ca_path options (NULL, NULL: the defaults) trusts into
 * libcurl's CA cache, by a TLS handshake over a socketpair that fails at once: the first HTTPS
 * connection then does not parse the bundle inside a step. Blocks for that long (the bundle's
 * parse: ~15 ms for Debian's), only while the engine is idle, once per CA file; nothing with a CA
 * directory (libcurl caches none then). -> 1 when the cache holds them, 0 when not done. */
int ae_engine_warm_tls(ae_engine *e, const char *ca_file, const char *ca_path);      /* seconds until step is due; -1 if idle */
int ae_engine_wait(ae_engine *e, double max_wait); /* poll sockets <= max_wait, then step */
/* One fd for a host's event loop: readable when a socket of the engine is ready. Wait on it (at
 * most ae_engine_timeout), then ae_engine_step. -1 where unsupported (no epoll). Owned by the
 * engine; every step keeps it in sync. */
int ae_engine_pollfd(ae_engine *e);
long ae_engine_connections(const ae_engine *e);    /* connections opened so far */
/* A count that grows whenever a transfer may have become ready for its reader (done, started,
 * an event queued): a scheduler whose count has not moved need not ask its transfers again. */
unsigned long ae_engine_changes(const ae_engine *e);
/* Stream bytes and events one step may take in (0 = no limit on that count). */
void ae_engine_set_budget(ae_engine *e, size_t bytes, size_t events);

int ae_xfer_done(const ae_xfer *x);
void ae_xfer_cancel(ae_xfer *x);                   /* idempotent; a done transfer stays as is */
void ae_xfer_free(ae_xfer *x);                     /* cancels first; NULL is fine */

int ae_xfer_status(const ae_xfer *x);              /* last HTTP status, 0 when none */
const char *ae_xfer_body(const ae_xfer *x, size_t *len);
/* The body buffer itself (NULL when empty), for decoding it in place; then ae_xfer_drop_body
 * frees it (the body reads as empty after, and ae_xfer_consumed tells it was taken). */
char *ae_xfer_body_mut(ae_xfer *x, size_t *len);
void ae_xfer_drop_body(ae_xfer *x);
int ae_xfer_consumed(const ae_xfer *x);
size_t ae_xfer_nheaders(const ae_xfer *x);
void ae_xfer_header(const ae_xfer *x, size_t i, const char **name, const char **value);
int ae_xfer_error(const ae_xfer *x, const char **msg); /* AE_ERR_*; msg is scrubbed */
int ae_xfer_attempts(const ae_xfer *x);
int ae_xfer_ambiguous(const ae_xfer *x);           /* the server may have acted */
int ae_xfer_retryable(const ae_xfer *x);           /* the last failure was of a retryable kind */
double ae_xfer_retry_after(const ae_xfer *x);      /* server-given delay of the last answer, -1 */
size_t ae_xfer_nhistory(const ae_xfer *x);
const ae_history *ae_xfer_history(const ae_xfer *x, size_t i);

/* Streams. started: the current attempt got 2xx headers (stays set once done). */
int ae_xfer_started(const ae_xfer *x);
size_t ae_xfer_queued(const ae_xfer *x);            /* events waiting in the queue */
size_t ae_xfer_queued_bytes(const ae_xfer *x);      /* ... and the bytes they hold */
/* The oldest queued event, or NULL; it stays owned by the transfer until dropped. */
const ae_event *ae_xfer_peek_event(const ae_xfer *x);
/* Frees the oldest queued event; resumes a paused transfer once the queue is low enough
 * (libcurl may then deliver bytes, and queue events, before this returns). */
void ae_xfer_drop_event(ae_xfer *x);
long ae_xfer_events(const ae_xfer *x);              /* events parsed so far (queued or not) */
/* Once done: 1 if the stream ended on an event boundary (no partial event dropped). */
int ae_xfer_stream_clean(const ae_xfer *x);

#endif
