/* test_sse.c - the incremental SSE parser: every rule in sse.h, the Anthropic example stream
 * (reference 2.3), and a property test: any chunking gives the same events. */
#include "check.h"
#include "sse.h"

#include <stdint.h>
#include <stdlib.h>

/* ---------- recording events as text: "event|data|id|retry\n", data escaped ---------- */

typedef struct rec {
  char *s;
  size_t len, cap;
  int n;    /* events seen */
  int stop; /* non-zero: return this from every callback */
} rec;

static void rec_putc(rec *r, char c) {
  if (r->len + 2 > r->cap) {
    r->cap = r->cap ? r->cap * 2 : 256;
    r->s = realloc(r->s, r->cap);
    if (r->s == NULL) abort();
  }
  r->s[r->len++] = c;
  r->s[r->len] = '\0';
}

static void rec_put(rec *r, const char *p, size_t n, int escape) {
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (escape && (c == '\n' || c == '\r' || c == '\0' || c == '\\' || c == '|')) {
      rec_putc(r, '\\');
      c = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\0' ? '0' : c;
    }
    rec_putc(r, c);
  }
}

static int on_event(void *ud, const ae_sse_event *ev) {
  rec *r = ud;
  char num[32];
  int k = snprintf(num, sizeof num, "%ld", ev->retry_ms);
  /* The strings are NUL-terminated too. */
  if (ev->event[ev->event_len] || ev->data[ev->data_len] || ev->id[ev->id_len]) abort();
  rec_put(r, ev->event, ev->event_len, 1);
  rec_putc(r, '|');
  rec_put(r, ev->data, ev->data_len, 1);
  rec_putc(r, '|');
  rec_put(r, ev->id, ev->id_len, 1);
  rec_putc(r, '|');
  rec_put(r, num, (size_t)k, 0);
  rec_putc(r, '\n');
  r->n++;
  return r->stop;
}

static const char *rec_str(rec *r) { return r->s ? r->s : ""; }

static void rec_clear(rec *r) {
  free(r->s);
  memset(r, 0, sizeof *r);
}

/* Parse `in` (C string) fed in pieces split at the given offsets (ascending, -1 ends them). */
static int parse_split(const char *in, size_t len, const int *cuts, rec *r, int *fin,
                       size_t *discarded) {
  ae_sse *s = ae_sse_new(0);
  size_t at = 0;
  int rc = 0;
  for (; cuts && *cuts >= 0 && rc == 0; cuts++) {
    rc = ae_sse_feed(s, in + at, (size_t)*cuts - at, on_event, r);
    at = (size_t)*cuts;
  }
  if (rc == 0) rc = ae_sse_feed(s, in + at, len - at, on_event, r);
  *fin = ae_sse_finish(s, discarded);
  ae_sse_free(s);
  return rc;
}

/* Whole input in one feed, then byte by byte: both must give `want` and end cleanly or not. */
static void check_events(const char *in, const char *want, int want_fin, const char *what) {
  size_t len = strlen(in), d;
  rec r = {0};
  int fin, rc = parse_split(in, len, NULL, &r, &fin, &d);
  CHECK(rc == 0, "%s: rc %d", what, rc);
  CHECK_STR(rec_str(&r), want, "%s: got\n%s", what, rec_str(&r));
  CHECK(fin == want_fin, "%s: finish %d", what, fin);
  rec_clear(&r);
  {
    ae_sse *s = ae_sse_new(0);
    for (size_t i = 0; i < len; i++) ae_sse_feed(s, in + i, 1, on_event, &r);
    fin = ae_sse_finish(s, NULL);
    ae_sse_free(s);
  }
  CHECK_STR(rec_str(&r), want, "%s (byte by byte): got\n%s", what, rec_str(&r));
  CHECK(fin == want_fin, "%s (byte by byte): finish %d", what, fin);
  rec_clear(&r);
}

/* ---------- the rules ---------- */

static void test_line_ends(void) {
  check_events("data: hello\n\n", "|hello||-1\n", 0, "LF");
  check_events("event: a\r\ndata: x\r\n\r\n", "a|x||-1\n", 0, "CRLF");
  check_events("event: a\rdata: x\r\r", "a|x||-1\n", 0, "CR");
  check_events("event: a\rdata: x\r\ndata: y\n\r\n", "a|x\\ny||-1\n", 0, "mixed");
  check_events("\n\r\n\rdata: x\n\n\n\n", "|x||-1\n", 0, "blank lines around");
  check_events("data: x\n\r\r\n", "|x||-1\n", 0, "LF line, CR blank line, CRLF blank line");
}

/* A '\r' ending one feed and a '\n' starting the next are one line end. */
static void test_cr_lf_split(void) {
  static const char in[] = "data: x\r\ndata: y\r\n\r\n";
  const int cut1[] = {8, -1};      /* "data: x\r" | "\ndata: y..." */
  const int cut2[] = {17, 18, -1}; /* ... "\r" | "\n" | "\r\n" */
  const int cut3[] = {8, 9, 17, 18, 19, -1};
  const int *cuts[] = {cut1, cut2, cut3};
  for (int i = 0; i < 3; i++) {
    rec r = {0};
    int fin;
    size_t d;
    parse_split(in, sizeof in - 1, cuts[i], &r, &fin, &d);
    CHECK_STR(rec_str(&r), "|x\\ny||-1\n", "CR|LF split %d: got %s", i, rec_str(&r));
    CHECK(fin == 0 && d == 0, "CR|LF split %d: clean end (%d, %zu)", i, fin, d);
    rec_clear(&r);
  }
  {
    /* A '\r' at the end of a feed, then not a '\n': the '\r' alone was the line end. */
    static const char in2[] = "data: x\rdata: y\r\r";
    const int cut[] = {8, -1};
    rec r = {0};
    int fin;
    size_t d;
    parse_split(in2, sizeof in2 - 1, cut, &r, &fin, &d);
    CHECK_STR(rec_str(&r), "|x\\ny||-1\n", "CR then other byte: got %s", rec_str(&r));
    rec_clear(&r);
  }
}

static void test_fields(void) {
  check_events(": ping\ndata: a\n: mid\ndata: b\n\n", "|a\\nb||-1\n", 0, "comments");
  check_events(":\n: only a comment\n\n", "", 0, "comment-only block is no event");
  check_events("data: 1\ndata: 2\ndata: 3\n\n", "|1\\n2\\n3||-1\n", 0, "multi-line data");
  check_events("data:  two\n\n", "| two||-1\n", 0, "only one leading space stripped");
  check_events("data:none\n\n", "|none||-1\n", 0, "no space after the colon");
  check_events("data:\ttab\n\n", "|\ttab||-1\n", 0, "a tab is not stripped");
  check_events("data: \n\n", "|||-1\n", 0, "empty value");
  check_events("data: a:b: c\n\n", "|a:b: c||-1\n", 0, "colons in the value");
  check_events("data\n\n", "|||-1\n", 0, "no colon: field name, empty value");
  check_events("data\ndata\n\n", "|\\n||-1\n", 0, "two empty data lines");
  check_events("event\ndata: x\n\n", "|x||-1\n", 0, "no-colon event clears the name");
  check_events("foo\nfoo: bar\ndata: x\n\n", "|x||-1\n", 0, "unknown fields ignored");
  check_events("Data: x\nDATA: y\n\n", "", 0, "field names are case-sensitive");
  check_events("data : x\n\n", "", 0, "space before the colon is part of the name");
  check_events("event: foo\n\n", "", 0, "event name without data: not dispatched (WHATWG)");
  check_events("event: foo\n\ndata: x\n\n", "|x||-1\n", 0, "the dropped name does not leak");
  check_events("event: a\nevent: b\ndata: x\n\n", "b|x||-1\n", 0, "last event name wins");
}

static void test_nul_in_data(void) {
  static const char in[] = "data: a\0b\n\nid: 1\0 2\ndata: c\n\n";
  rec r = {0};
  int fin;
  size_t d;
  parse_split(in, sizeof in - 1, NULL, &r, &fin, &d);
  CHECK_STR(rec_str(&r), "|a\\0b||-1\n|c||-1\n", "NUL kept in data; id with NUL ignored: %s",
            rec_str(&r));
  rec_clear(&r);
}

static void test_id_retry(void) {
  check_events("id: 1\ndata: a\n\ndata: b\n\n", "|a|1|-1\n|b|1|-1\n", 0, "id persists");
  check_events("id: 1\ndata: a\n\nid\ndata: b\n\n", "|a|1|-1\n|b||-1\n", 0, "empty id resets");
  check_events("id: 7\n\ndata: b\n\n", "|b|7|-1\n", 0, "id set in an undispatched block");
  check_events("retry: 3000\ndata: a\n\ndata: b\n\n", "|a||3000\n|b||-1\n", 0,
               "retry is per event");
  check_events("retry: 3x\ndata: a\n\n", "|a||-1\n", 0, "non-digit retry ignored");
  check_events("retry: -5\ndata: a\n\n", "|a||-1\n", 0, "negative retry ignored");
  check_events("retry:\ndata: a\n\n", "|a||-1\n", 0, "empty retry ignored");
  check_events("retry: 0\ndata: a\n\n", "|a||0\n", 0, "retry 0");
  {
    rec r = {0};
    int fin;
    size_t d;
    static const char in[] = "retry: 99999999999999999999999999999999\ndata: a\n\n";
    parse_split(in, sizeof in - 1, NULL, &r, &fin, &d);
    CHECK(r.n == 1 && strstr(rec_str(&r), "|-") == NULL, "huge retry does not wrap: %s",
          rec_str(&r));
    rec_clear(&r);
  }
}

static void test_bom(void) {
  check_events("\xEF\xBB\xBF" "data: a\n\n", "|a||-1\n", 0, "BOM skipped");
  check_events("\xEF\xBB\xBF" "data: a\n\n\xEF\xBB\xBF" "data: b\n\n", "|a||-1\n", 0,
               "BOM only at the very start");
  check_events("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\n", "", 0, "only one BOM");
  check_events("\xEF\xBB" "data: a\n\n", "", 0, "half a BOM is content");
  check_events("\xEF\xBB\n" "data: a\n\n", "|a||-1\n", 0, "half a BOM then a line end");
  check_events("\xEF" "data: a\n\n", "", 0, "one BOM byte is content");
  check_events("\xEF\xBB\xBF", "", 0, "a stream of just a BOM ends cleanly");
  {
    size_t d = 0;
    ae_sse *s = ae_sse_new(0);
    ae_sse_feed(s, "\xEF\xBB", 2, on_event, NULL);
    CHECK(ae_sse_finish(s, &d) == 1 && d == 2, "half a BOM at EOF is discarded (%zu)", d);
    ae_sse_free(s);
  }
}

static void test_eof(void) {
  size_t d = 99;
  rec r = {0};
  ae_sse *s = ae_sse_new(0);
  ae_sse_feed(s, "data: a\n\ndata: b\n", 17, on_event, &r);
  CHECK(r.n == 1, "one event before EOF");
  CHECK(ae_sse_finish(s, &d) == 1 && d == 8, "unterminated event discarded (%zu bytes)", d);
  ae_sse_feed(s, "data: c", 7, on_event, &r);
  CHECK(ae_sse_finish(s, &d) == 1 && d == 7, "partial line discarded (%zu)", d);
  ae_sse_feed(s, "data: a\r\n\r\n", 11, on_event, &r);
  CHECK(ae_sse_finish(s, &d) == 0 && d == 0, "ends on a CRLF boundary (%zu)", d);
  ae_sse_feed(s, "data: a\n\n: bye\n", 15, on_event, &r);
  CHECK(ae_sse_finish(s, &d) == 1 && d == 6, "trailing comment counts as not on a boundary");
  CHECK(ae_sse_finish(s, &d) == 0 && d == 0, "empty stream");
  CHECK(ae_sse_finish(s, NULL) == 0, "NULL discarded pointer");
  ae_sse_feed(s, "\xEF\xBB\xBF" "data: z\n\n", 12, on_event, &r);
  CHECK(r.n == 4, "finish resets: a new stream skips its BOM again (%d)", r.n);
  CHECK(ae_sse_finish(s, &d) == 0, "clean");
  ae_sse_free(s);
  rec_clear(&r);
}

static void test_too_big(void) {
  char line[128];
  rec r = {0};
  size_t d;
  ae_sse *s = ae_sse_new(64);
  /* Exactly at the limit: "data: " + 58 bytes is a 64-byte line. */
  memcpy(line, "data: ", 6);
  memset(line + 6, 'x', 58);
  memcpy(line + 64, "\n\n", 3);
  CHECK(ae_sse_feed(s, line, 66, on_event, &r) == 0 && r.n == 1, "64-byte event with limit 64");
  /* One more byte: too big, in one feed or byte by byte. */
  memset(line + 6, 'y', 59);
  memcpy(line + 65, "\n\n", 3);
  CHECK(ae_sse_feed(s, line, 67, on_event, &r) == AE_SSE_TOO_BIG, "65-byte line is too big");
  CHECK(r.n == 1, "no event from it");
  CHECK(ae_sse_feed(s, "data: ok\n\n", 10, on_event, &r) == AE_SSE_TOO_BIG, "error is sticky");
  CHECK(r.n == 1, "nothing parsed after the error");
  CHECK(ae_sse_finish(s, &d) == 1, "finish reports the loss");
  CHECK(ae_sse_feed(s, "data: ok\n\n", 10, on_event, &r) == 0 && r.n == 2,
        "usable again after finish");

  int rc = 0;
  for (int i = 0; i < 67 && rc == 0; i++) rc = ae_sse_feed(s, line + i, 1, on_event, &r);
  CHECK(rc == AE_SSE_TOO_BIG && r.n == 2, "too big byte by byte");
  ae_sse_reset(s);
  CHECK(ae_sse_feed(s, "data: ok\n\n", 10, on_event, &r) == 0 && r.n == 3,
        "usable again after reset");

  /* Many small data lines add up. */
  rc = 0;
  for (int i = 0; i < 10 && rc == 0; i++) rc = ae_sse_feed(s, "data: 0123456789\n", 17, on_event, &r);
  CHECK(rc == AE_SSE_TOO_BIG && r.n == 3, "accumulated data too big");
  ae_sse_reset(s);
  /* A long comment line counts too (it must be read to know where it ends). */
  memset(line, ':', 100);
  CHECK(ae_sse_feed(s, line, 100, on_event, &r) == AE_SSE_TOO_BIG, "long comment line");
  ae_sse_free(s);
  rec_clear(&r);

  /* The default limit takes a 1 MiB event, and the parser goes on after it. */
  {
    size_t n = (size_t)1 << 20;
    char *big = malloc(n + 16);
    memcpy(big, "data: ", 6);
    memset(big + 6, 'z', n);
    memcpy(big + 6 + n, "\n\n", 2);
    s = ae_sse_new(0);
    int got = 0;
    for (size_t at = 0; at < n + 8; at += 4096) {
      size_t k = n + 8 - at < 4096 ? n + 8 - at : 4096;
      got |= ae_sse_feed(s, big + at, k, on_event, &r);
    }
    CHECK(got == 0 && r.n == 1 && r.len == n + 6, "1 MiB event (rc %d, %d events)", got, r.n);
    rec_clear(&r);
    CHECK(ae_sse_feed(s, "data: small\n\n", 13, on_event, &r) == 0, "small event after");
    CHECK_STR(rec_str(&r), "|small||-1\n", "small event after a big one");
    ae_sse_free(s);
    free(big);
    rec_clear(&r);
  }
}

/* A callback's non-zero return stops the feed; the rest is kept and parsed by the next one. */
static void test_stop(void) {
  static const char in[] = "data: a\n\ndata: b\r\rdata: c\r\n\r\n";
  rec r = {0};
  size_t d;
  ae_sse *s = ae_sse_new(0);
  r.stop = 7;
  CHECK(ae_sse_feed(s, in, sizeof in - 1, on_event, &r) == 7 && r.n == 1, "stop after a");
  CHECK(ae_sse_feed(s, NULL, 0, on_event, &r) == 7 && r.n == 2, "resume: b");
  CHECK(ae_sse_feed(s, "\ndata: d\n\n", 10, on_event, &r) == 7 && r.n == 3,
        "kept bytes come before new ones: c");
  CHECK(ae_sse_feed(s, NULL, 0, on_event, &r) == 7 && r.n == 4, "then d");
  CHECK(ae_sse_feed(s, NULL, 0, on_event, &r) == 0 && r.n == 4, "nothing left");
  CHECK_STR(rec_str(&r), "|a||-1\n|b||-1\n|c||-1\n|d||-1\n", "order kept: %s", rec_str(&r));
  CHECK(ae_sse_feed(s, NULL, 0, on_event, &r) == 0, "resume with nothing kept is a no-op");
  CHECK(ae_sse_finish(s, &d) == 0, "clean end");
  rec_clear(&r);
  {
    /* fuzz_sse (UBSan): with nothing kept, feed(NULL, 0) computed NULL + 0, undefined in C. */
    ae_sse *f = ae_sse_new(0);
    CHECK(ae_sse_feed(f, NULL, 0, on_event, &r) == 0 && r.n == 0, "feed(NULL, 0) on a new parser");
    CHECK(ae_sse_feed(f, "data: x\n", 8, on_event, &r) == 0 && r.n == 0, "then part of an event");
    CHECK(ae_sse_feed(f, NULL, 0, on_event, &r) == 0, "feed(NULL, 0) after a partial event");
    CHECK(ae_sse_feed(f, "\n", 1, on_event, &r) == 0 && r.n == 1, "the event still arrives");
    CHECK(ae_sse_finish(f, &d) == 0, "clean end after NULL feeds");
    ae_sse_free(f);
    rec_clear(&r);
  }

  /* Stopping and then finishing loses the kept bytes, and says so. */
  r.stop = 1;
  ae_sse_feed(s, "data: a\n\ndata: b\n\n", 18, on_event, &r);
  CHECK(ae_sse_finish(s, &d) == 1 && d == 9, "kept bytes discarded at finish (%zu)", d);
  ae_sse_free(s);
  rec_clear(&r);
}

/* Reference 2.3: the Anthropic example stream and a mid-stream error. */
static void test_anthropic(void) {
  static const char in[] =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
      "\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,"
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
      "\"text\":\"\"}}\n\n"
      "event: ping\n"
      "data: {\"type\":\"ping\"}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
      "\"text\":\"Hello\"}}\n\n"
      "event: content_block_stop\n"
      "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
      "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  static const char err[] =
      "event: error\r\n"
      "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"
      "\r\n\r\n";
  check_events(in,
               "message_start|{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
               "\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\","
               "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
               "\"output_tokens\":1}}}||-1\n"
               "content_block_start|{\"type\":\"content_block_start\",\"index\":0,"
               "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}||-1\n"
               "ping|{\"type\":\"ping\"}||-1\n"
               "content_block_delta|{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
               "\"type\":\"text_delta\",\"text\":\"Hello\"}}||-1\n"
               "content_block_stop|{\"type\":\"content_block_stop\",\"index\":0}||-1\n"
               "message_delta|{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
               "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}||-1\n"
               "message_stop|{\"type\":\"message_stop\"}||-1\n",
               0, "Anthropic example stream");
  check_events(err,
               "error|{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
               "\"Overloaded\"}}||-1\n",
               0, "Anthropic mid-stream error");
}

/* ---------- property: chunking never changes the events ---------- */

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t xorshift(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

typedef struct text {
  char *s;
  size_t len, cap;
} text;

static void put(text *t, const char *s) {
  size_t n = strlen(s);
  if (t->len + n + 1 > t->cap) {
    while (t->len + n + 1 > t->cap) t->cap = t->cap ? t->cap * 2 : 1024;
    t->s = realloc(t->s, t->cap);
    if (t->s == NULL) abort();
  }
  memcpy(t->s + t->len, s, n + 1);
  t->len += n;
}

/* A random line end. After a lone "\r", a "\n" would join it into one "\r\n" line end, so a
 * blank line right after one never starts with "\n". */
static int last_cr;
static const char *eol(void) {
  static const char *const e[] = {"\n", "\r\n", "\r"};
  int k = (int)(xorshift() % 3);
  if (last_cr && k == 0) k = 1;
  last_cr = (k == 2);
  return e[k];
}

static const char *line_eol(void) {
  last_cr = 0;
  return eol();
}

/* A realistic stream of about 50 events with mixed line ends, plus the events expected. */
static void make_stream(text *in, text *want) {
  static const char *const names[] = {"content_block_delta", "ping", "message_delta",
                                      "content_block_start", "content_block_stop"};
  char line[256];
  put(in, "\xEF\xBB\xBF");
  put(in, "event: message_start");
  put(in, line_eol());
  put(in, "data: {\"type\":\"message_start\"}");
  put(in, line_eol());
  put(in, eol());
  put(want, "message_start|{\"type\":\"message_start\"}||-1\n");
  for (int i = 0; i < 48; i++) {
    const char *name = names[xorshift() % 5];
    int lines = 1 + (int)(xorshift() % 3);
    if (xorshift() % 4 == 0) {
      put(in, ": keep-alive");
      put(in, line_eol());
    }
    snprintf(line, sizeof line, "event: %s", name);
    put(in, line);
    put(in, line_eol());
    put(want, name);
    put(want, "|");
    for (int k = 0; k < lines; k++) {
      snprintf(line, sizeof line, "{\"index\":%d,\"delta\":{\"text\":\"part %d of %d: caf\xC3\xA9\"}}",
               i, k, lines);
      put(in, xorshift() % 2 ? "data: " : "data:");
      put(in, line);
      put(in, line_eol());
      if (k) put(want, "\\n");
      put(want, line);
    }
    put(in, eol());
    put(want, "||-1\n");
  }
  put(in, "event: message_stop");
  put(in, line_eol());
  put(in, "data: {\"type\":\"message_stop\"}");
  put(in, line_eol());
  put(in, eol());
  put(want, "message_stop|{\"type\":\"message_stop\"}||-1\n");
}

static int cmp_int(const void *a, const void *b) {
  return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static void test_chunking(void) {
  text in = {0}, want = {0};
  int bad = 0, badfin = 0;
  make_stream(&in, &want);
  CHECK(in.len > 4000, "stream is realistic (%zu bytes)", in.len);
  for (int round = 0; round < 200; round++) {
    int cuts[65], ncut = (int)(xorshift() % 64);
    rec r = {0};
    int fin;
    size_t d;
    for (int i = 0; i < ncut; i++) cuts[i] = (int)(xorshift() % in.len);
    qsort(cuts, (size_t)ncut, sizeof cuts[0], cmp_int);
    cuts[ncut] = -1;
    parse_split(in.s, in.len, cuts, &r, &fin, &d);
    if (strcmp(rec_str(&r), want.s) != 0) bad++;
    if (fin != 0) badfin++;
    rec_clear(&r);
  }
  CHECK(bad == 0, "%d of 200 random chunkings differ", bad);
  CHECK(badfin == 0, "%d of 200 random chunkings did not end cleanly", badfin);
  check_events(in.s, want.s, 0, "whole and byte by byte");
  free(in.s);
  free(want.s);
}

int main(void) {
  test_line_ends();
  test_cr_lf_split();
  test_fields();
  test_nul_in_data();
  test_id_retry();
  test_bom();
  test_eof();
  test_too_big();
  test_stop();
  test_anthropic();
  test_chunking();
  return CHECK_DONE();
}
