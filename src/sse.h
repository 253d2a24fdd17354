/* sse.h - an incremental Server-Sent Events parser (WHATWG HTML "event stream" rules;
 * reference section 2.3). Pure C: no Lua or curl headers, so it is unit-tested and fuzzed alone.
 *
 * Feed it bytes as they arrive, cut anywhere; it calls back once per complete event.
 *   - Lines end in "\n", "\r\n" or "\r"; a "\r" ending one feed and a "\n" starting the next
 *     are one line end.
 *   - A UTF-8 BOM at the very start of the stream is skipped.
 *   - Lines starting with ':' are comments. Otherwise the field name runs up to the first ':'
 *     and one leading space of the value is dropped; a line with no ':' is a field name with an
 *     empty value. Field names are case-sensitive; unknown ones are ignored.
 *   - "data" lines are joined with "\n". "event" sets the event name. "id" sets the last event
 *     id, which persists across events (a value containing NUL is ignored). "retry" with only
 *     ASCII digits sets retry_ms for the event being built.
 *   - A blank line ends an event. As WHATWG says, it is dispatched only if at least one "data"
 *     line was seen (a lone "data:" gives an event with empty data); an "event:" without data
 *     is dropped. The name, data and retry are then cleared; the id is kept.
 *   - At end of stream an event without its closing blank line is discarded (ae_sse_finish).
 *
 * Memory is bounded: the bytes held for one event (data and name so far plus the line in
 * progress) may not exceed max_event, else AE_SSE_TOO_BIG. Buffers are reused between events
 * and released after an event larger than 64 KiB, so a long stream stays flat.
 * Not thread-safe per parser; separate parsers are independent. */
#ifndef AE_SSE_H
#define AE_SSE_H

#include <stddef.h>

#define AE_SSE_DEFAULT_MAX ((size_t)16 << 20) /* 16 MiB */

/* Errors are negative; a callback that wants to stop should return a positive value. */
enum { AE_SSE_OK = 0, AE_SSE_TOO_BIG = -1, AE_SSE_NOMEM = -2 };

typedef struct ae_sse ae_sse;

/* One event. The pointers are valid only during the callback. Each string is also
 * NUL-terminated (data may contain NUL bytes of its own, so use the lengths). */
typedef struct ae_sse_event {
  const char *event; size_t event_len; /* "" when no event: line (WHATWG's default is "message") */
  const char *data;  size_t data_len;  /* data lines joined with "\n" */
  const char *id;    size_t id_len;    /* last event id so far, "" if none */
  long retry_ms;                       /* retry: value in this event, -1 if none */
} ae_sse_event;

/* Return 0 to go on, non-zero (positive) to stop ae_sse_feed, which then returns that value. */
typedef int (*ae_sse_cb)(void *ud, const ae_sse_event *ev);

/* A new parser; max_event 0 means AE_SSE_DEFAULT_MAX. NULL when out of memory. */
ae_sse *ae_sse_new(size_t max_event);
void ae_sse_free(ae_sse *s); /* NULL is fine */

/* Parse len bytes of buf (buf may be NULL when len is 0), calling cb for each complete event.
 * Returns 0 when all bytes were taken in, or the callback's non-zero value, or an error.
 *   Stop: when cb returns non-zero, parsing stops right after that event's blank line; the
 *   parser copies the rest of buf and keeps it. The next ae_sse_feed parses the kept bytes
 *   first, then its own buf (so feed(s, NULL, 0, cb, ud) resumes). Nothing is lost or reordered.
 *   The kept bytes are not limited by max_event: a caller that stops on every event should
 *   resume with empty feeds before feeding more, or they pile up.
 *   Errors are sticky: after AE_SSE_TOO_BIG or AE_SSE_NOMEM every feed returns that error
 *   without reading buf, and the event in progress is gone; ae_sse_reset or ae_sse_finish
 *   makes the parser usable for a new stream.
 * cb must not call ae_sse_feed, ae_sse_finish or ae_sse_reset on the same parser. */
int ae_sse_feed(ae_sse *s, const char *buf, size_t len, ae_sse_cb cb, void *ud);

/* End of stream. Returns 1 if it did not end on an event boundary (an incomplete event, a
 * partial line, or bytes kept after a stop were dropped), else 0; also 1 after an error.
 * *discarded (if not NULL) gets the number of input bytes dropped since the last blank line.
 * Then resets the parser, ready for a new stream. */
int ae_sse_finish(ae_sse *s, size_t *discarded);

/* Forget everything (including the last event id and a sticky error), release large buffers. */
void ae_sse_reset(ae_sse *s);

#endif
