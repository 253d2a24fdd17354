/* lines.h - an incremental line splitter for bodies that are not event streams (JSONL: the
 * results of a Message Batch). Pure C: no Lua or curl headers, so it is unit-tested alone.
 *
 * Feed it bytes as they arrive, cut anywhere; it calls back once per complete line.
 *   - A line ends at "\n"; one "\r" right before it is dropped too ("\r\n"). A "\r" elsewhere is
 *     part of the line. Empty lines are delivered as well (a caller counting lines stays right).
 *   - At the end of the body (ae_lines_finish) a last line without its "\n" is delivered, unless
 *     it is empty; a body cut short should be reported by the caller instead (ae_lines_reset).
 *
 * Memory is bounded: a line may have at most max_line bytes before its "\n", else
 * AE_LINES_TOO_BIG. Complete lines are handed over straight from the caller's bytes; only a line
 * cut by the end of a feed is copied, and that buffer is released after a line over 64 KiB, so a
 * long body costs the longest line's size at most, not the body's. */
#ifndef AE_LINES_H
#define AE_LINES_H

#include <stddef.h>

#define AE_LINES_DEFAULT_MAX ((size_t)16 << 20) /* 16 MiB */

/* Errors are negative; a callback that wants to stop returns a positive value. */
enum { AE_LINES_OK = 0, AE_LINES_TOO_BIG = -1, AE_LINES_NOMEM = -2 };

typedef struct ae_lines ae_lines;

/* One line, without its line end; valid only during the call, and not NUL-terminated (it may
 * point into the caller's bytes). Return 0 to go on, a positive value to stop. */
typedef int (*ae_lines_cb)(void *ud, const char *line, size_t len);

/* A new splitter; max_line 0 means AE_LINES_DEFAULT_MAX. NULL when out of memory. */
ae_lines *ae_lines_new(size_t max_line);
void ae_lines_free(ae_lines *s); /* NULL is fine */

/* Split len bytes of buf (buf may be NULL when len is 0), calling cb for each complete line.
 * Returns 0 when every byte was taken in, the callback's non-zero value when it stopped (the
 * rest of buf is not read), or an error. Stops and errors are sticky: every later feed and
 * finish returns the same value without reading anything, until ae_lines_reset. */
int ae_lines_feed(ae_lines *s, const char *buf, size_t len, ae_lines_cb cb, void *ud);

/* End of the body: delivers the last line if no "\n" ended it (and it is not empty). Returns 0,
 * the callback's value, or the sticky value of an earlier feed; then resets the splitter. */
int ae_lines_finish(ae_lines *s, ae_lines_cb cb, void *ud);

/* Forget the line in progress and a sticky value; ready for a new body. */
void ae_lines_reset(ae_lines *s);

/* Bytes of the unfinished line held, and lines delivered since the last reset. */
size_t ae_lines_pending(const ae_lines *s);
unsigned long ae_lines_count(const ae_lines *s);

#endif
