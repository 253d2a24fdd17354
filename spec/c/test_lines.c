/* test_lines.c - the incremental line splitter (lines.h): line ends, a last line without "\n",
 * the max_line limit, stops, flat memory over a long body, and a property test: any chunking
 * gives the same lines. */
#include "check.h"
#include "lines.h"

#include <stdint.h>
#include <stdlib.h>

/* Lines recorded as "line|" with "\r", "\n", NUL and "|" escaped. */
typedef struct rec {
  char *s;
  size_t len, cap;
  int n;
  int stop_at; /* > 0: return 7 from the callback of that line */
} rec;

static void putc_(rec *r, char c) {
  if (r->len + 2 > r->cap) {
    r->cap = r->cap ? r->cap * 2 : 256;
    r->s = realloc(r->s, r->cap);
    if (!r->s) abort();
  }
  r->s[r->len++] = c;
  r->s[r->len] = '\0';
}

static int on_line(void *ud, const char *p, size_t n) {
  rec *r = ud;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '\n' || c == '\r' || c == '\0' || c == '|' || c == '\\') {
      putc_(r, '\\');
      c = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\0' ? '0' : c;
    }
    putc_(r, c);
  }
  putc_(r, '|');
  r->n++;
  return r->stop_at && r->n == r->stop_at ? 7 : 0;
}

static const char *str(rec *r) { return r->s ? r->s : ""; }
static void clear(rec *r) {
  free(r->s);
  memset(r, 0, sizeof *r);
}

/* The whole input in one feed, then in pieces of every size from 1 to 7: the same lines. */
static void split_all(const char *in, size_t len, const char *want, int want_rc, const char *what) {
  for (size_t step = 0; step <= 7; step++) {
    ae_lines *s = ae_lines_new(0);
    rec r = {0};
    int rc = 0;
    if (step == 0) {
      rc = ae_lines_feed(s, in, len, on_line, &r);
    } else {
      for (size_t at = 0; at < len && !rc; at += step)
        rc = ae_lines_feed(s, in + at, at + step > len ? len - at : step, on_line, &r);
    }
    if (!rc) rc = ae_lines_finish(s, on_line, &r);
    CHECK_STR(str(&r), want, "%s (pieces of %zu): got \"%s\", want \"%s\"", what, step, str(&r), want);
    CHECK(rc == want_rc, "%s (pieces of %zu): rc %d, want %d", what, step, rc, want_rc);
    clear(&r);
    ae_lines_free(s);
  }
}

static void test_line_ends(void) {
  split_all("a\nb\n", 4, "a|b|", 0, "lf");
  split_all("a\r\nb\r\n", 6, "a|b|", 0, "crlf");
  split_all("a\rb\n", 4, "a\\rb|", 0, "a lone cr is content");
  split_all("a\n\nb\n", 5, "a||b|", 0, "an empty line is delivered");
  split_all("a\nlast", 6, "a|last|", 0, "a last line without its lf");
  split_all("a\n\r", 3, "a|", 0, "a last line of only cr");
  split_all("", 0, "", 0, "empty body");
  split_all("x\0y\n", 4, "x\\0y|", 0, "nul bytes");
  split_all("{\"custom_id\":\"q1\"}\n{\"custom_id\":\"q2\"}\n", 38,
            "{\"custom_id\":\"q1\"}|{\"custom_id\":\"q2\"}|", 0, "jsonl");
}

static void test_too_big(void) {
  ae_lines *s = ae_lines_new(4);
  rec r = {0};
  CHECK(ae_lines_feed(s, "abcd\n", 5, on_line, &r) == 0, "a line at the limit");
  CHECK(ae_lines_feed(s, "abcde\n", 6, on_line, &r) == AE_LINES_TOO_BIG, "one byte over, in one feed");
  CHECK(ae_lines_feed(s, "x\n", 2, on_line, &r) == AE_LINES_TOO_BIG, "sticky");
  CHECK(ae_lines_finish(s, on_line, &r) == AE_LINES_TOO_BIG, "finish says so too");
  CHECK_STR(str(&r), "abcd|", "only the line within the limit: %s", str(&r));
  /* over the limit across feeds, without ever seeing the line end */
  CHECK(ae_lines_feed(s, "ab", 2, on_line, &r) == 0, "after finish: usable again");
  CHECK(ae_lines_feed(s, "cd", 2, on_line, &r) == 0, "held at the limit");
  CHECK(ae_lines_pending(s) == 4, "four bytes held");
  CHECK(ae_lines_feed(s, "e", 1, on_line, &r) == AE_LINES_TOO_BIG, "one byte over across feeds");
  ae_lines_reset(s);
  CHECK(ae_lines_pending(s) == 0, "reset drops the partial line");
  CHECK(ae_lines_feed(s, "ok\n", 3, on_line, &r) == 0, "reset clears the sticky error");
  CHECK_STR(str(&r), "abcd|ok|", "got %s", str(&r));
  clear(&r);
  ae_lines_free(s);
}

static void test_stop(void) {
  ae_lines *s = ae_lines_new(0);
  rec r = {0};
  r.stop_at = 2;
  CHECK(ae_lines_feed(s, "a\nb\nc\n", 6, on_line, &r) == 7, "the callback's value");
  CHECK_STR(str(&r), "a|b|", "nothing after the stop: %s", str(&r));
  CHECK(ae_lines_feed(s, "d\n", 2, on_line, &r) == 7, "a stop is sticky");
  CHECK(ae_lines_count(s) == 2, "two lines delivered");
  ae_lines_reset(s);
  CHECK(ae_lines_count(s) == 0, "count reset");
  clear(&r);
  ae_lines_free(s);
}

static int count_only(void *ud, const char *p, size_t n) {
  (void)p;
  *(size_t *)ud += n;
  return 0;
}

/* A long body in 16 KiB pieces, lines of 1,000 bytes cut anywhere: what is held never passes
 * the longest line, and one huge line's buffer is released once it is done. */
static void test_flat(void) {
  ae_lines *s = ae_lines_new(0);
  char piece[16384];
  size_t total = 0, maxheld = 0;
  for (size_t i = 0; i < sizeof piece; i++) piece[i] = (i % 1000 == 999) ? '\n' : 'x';
  for (int k = 0; k < 1000; k++) {
    CHECK(ae_lines_feed(s, piece, sizeof piece, count_only, &total) == 0, "feed %d", k);
    if (ae_lines_pending(s) > maxheld) maxheld = ae_lines_pending(s);
  }
  CHECK(maxheld < 1000, "held at most one line: %zu", maxheld);
  CHECK(ae_lines_count(s) == 16000, "lines: %lu", ae_lines_count(s));
  ae_lines_finish(s, count_only, &total);
  /* one line of 1 MiB, then small ones */
  char *big = malloc(1 << 20);
  memset(big, 'y', 1 << 20);
  for (int k = 0; k < 16; k++) ae_lines_feed(s, big + k * 65536, 65536, count_only, &total);
  CHECK(ae_lines_pending(s) == 1 << 20, "the big line is held");
  CHECK(ae_lines_feed(s, "\nz\n", 3, count_only, &total) == 0, "it ends");
  CHECK(ae_lines_pending(s) == 0, "nothing held");
  free(big);
  ae_lines_free(s);
}

/* Random bodies of short lines, cut at random: the same lines as one feed. */
static void test_chunking(void) {
  uint32_t seed = 12345;
  for (int round = 0; round < 200; round++) {
    char in[300];
    size_t len = 0;
    for (; len < sizeof in; len++) {
      seed = seed * 1103515245u + 12345u;
      unsigned c = (seed >> 16) % 8;
      in[len] = c == 0 ? '\n' : c == 1 ? '\r' : (char)('a' + c);
    }
    ae_lines *s = ae_lines_new(0);
    rec whole = {0}, cut = {0};
    ae_lines_feed(s, in, len, on_line, &whole);
    ae_lines_finish(s, on_line, &whole);
    for (size_t at = 0; at < len;) {
      seed = seed * 1103515245u + 12345u;
      size_t n = 1 + (seed >> 16) % 20;
      if (at + n > len) n = len - at;
      ae_lines_feed(s, in + at, n, on_line, &cut);
      at += n;
    }
    ae_lines_finish(s, on_line, &cut);
    CHECK(whole.n == cut.n && strcmp(str(&whole), str(&cut)) == 0, "round %d: the same lines", round);
    clear(&whole);
    clear(&cut);
    ae_lines_free(s);
  }
}

int main(void) {
  test_line_ends();
  test_too_big();
  test_stop();
  test_flat();
  test_chunking();
  return CHECK_DONE();
}
