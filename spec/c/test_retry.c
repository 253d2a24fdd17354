/* test_retry.c - retry decision and delay (design section 5, reference 5.2-5.4, 5.10 A). */
#include "check.h"
#include "retry.h"

#include <math.h>

#define NOW ((time_t)1696004797) /* Fri, 29 Sep 2023 16:26:37 GMT, as in the PY test */
#define CAP 60.0
#define MAX_RETRIES 3

static const double rands[] = {0.0, 0.5, 0.999};

/* A delay that must be the backoff x cut by the jitter: in [0.75x, x] for every rand01. */
static void check_backoff(int n, const char *ms, const char *ra, double cap, double x,
                          const char *what) {
  for (size_t i = 0; i < sizeof rands / sizeof rands[0]; i++) {
    double d = ae_retry_delay(n, ms, ra, cap, NOW, rands[i]);
    CHECK(d >= 0.75 * x - 1e-9 && d <= x + 1e-9, "%s: n=%d rand=%g got %g, want [%g, %g]", what,
          n, rands[i], d, 0.75 * x, x);
    CHECK_NEAR(d, x * (1 - 0.25 * rands[i]), 1e-9, "%s: exact jitter formula", what);
  }
}

/* A delay taken from the header: exact, no jitter. */
static void check_exact(int n, const char *ms, const char *ra, double cap, double x,
                        const char *what) {
  for (size_t i = 0; i < sizeof rands / sizeof rands[0]; i++)
    CHECK_NEAR(ae_retry_delay(n, ms, ra, cap, NOW, rands[i]), x, 1e-9, "%s (rand %g)", what,
               rands[i]);
}

/* Reference 5.10 A, every row: n = max_retries - remaining. */
static void test_sdk_table(void) {
  static const struct {
    int remaining;
    const char *retry_after; /* NULL for the empty header */
    double expected;
    int from_header; /* 1: exact value, 0: backoff for n */
  } rows[] = {
      {3, "20", 20, 1},
      {3, "0", 0.5, 0},
      {3, "-10", 0.5, 0},
      {3, "60", 60, 1},
      {3, "61", 0.5, 0},
      {3, "Fri, 29 Sep 2023 16:26:57 GMT", 20, 1},
      {3, "Fri, 29 Sep 2023 16:26:37 GMT", 0.5, 0},
      {3, "Fri, 29 Sep 2023 16:26:27 GMT", 0.5, 0},
      {3, "Fri, 29 Sep 2023 16:27:37 GMT", 60, 1},
      {3, "Fri, 29 Sep 2023 16:27:38 GMT", 0.5, 0},
      {3, "99999999999999999999999999999999999", 0.5, 0},
      {3, "Zun, 29 Sep 2023 16:26:27 GMT", 0.5, 0},
      {3, "", 0.5, 0},
      {2, "", 1.0, 0},
      {1, "", 2.0, 0},
      {-1100, "", 8, 0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    int n = MAX_RETRIES - rows[i].remaining;
    char what[96];
    snprintf(what, sizeof what, "SDK row %zu retry-after '%s'", i + 1, rows[i].retry_after);
    if (rows[i].from_header)
      check_exact(n, NULL, rows[i].retry_after, CAP, rows[i].expected, what);
    else
      check_backoff(n, NULL, rows[i].retry_after, CAP, rows[i].expected, what);
  }
  /* The empty header is the same as no header at all. */
  check_backoff(0, NULL, NULL, CAP, 0.5, "no header");
}

static void test_retry_after_parse(void) {
  time_t t;
  CHECK_NEAR(ae_retry_after_parse("100", NULL, NOW), 0.1, 1e-12, "retry-after-ms 100 -> 0.1 s");
  CHECK_NEAR(ae_retry_after_parse("100", "30", NOW), 0.1, 1e-12, "retry-after-ms wins");
  CHECK_NEAR(ae_retry_after_parse("12.5", NULL, NOW), 0.0125, 1e-12, "fractional ms");
  CHECK_NEAR(ae_retry_after_parse("junk", "7", NOW), 7, 1e-12, "bad ms falls through to s");
  CHECK_NEAR(ae_retry_after_parse(NULL, "0.1", NOW), 0.1, 1e-12, "fractional seconds");
  CHECK_NEAR(ae_retry_after_parse(NULL, " 5 ", NOW), 5, 1e-12, "surrounding spaces");
  CHECK_NEAR(ae_retry_after_parse(NULL, "1e1", NOW), 10, 1e-12, "exponent");
  CHECK(ae_retry_after_parse(NULL, NULL, NOW) == -1, "absent");
  CHECK(ae_retry_after_parse(NULL, "", NOW) == -1, "empty");
  CHECK(ae_retry_after_parse(NULL, "soon", NOW) == -1, "garbage");
  CHECK(ae_retry_after_parse(NULL, "0x10", NOW) == -1, "no hex");
  CHECK(ae_retry_after_parse(NULL, "inf", NOW) == -1, "no inf");
  CHECK(ae_retry_after_parse(NULL, "nan", NOW) == -1, "no nan");
  CHECK(ae_retry_after_parse(NULL, "1.", NOW) == 1, "trailing dot");
  CHECK(ae_retry_after_parse(NULL, ".", NOW) == -1, "lone dot");
  CHECK(ae_retry_after_parse(NULL, "1e", NOW) == -1, "empty exponent");
  CHECK(ae_retry_after_parse(NULL, "5s", NOW) == -1, "trailing junk");
  CHECK(ae_retry_after_parse(NULL, "99999999999999999999999999999999999", NOW) > 1e34,
        "huge stays huge");
  CHECK(ae_retry_after_parse(NULL, "1e999999999", NOW) > 1e300, "huge exponent stays huge");
  CHECK(ae_retry_after_parse(NULL, "1e-999999999", NOW) == 0, "tiny exponent is 0");
  CHECK(ae_retry_after_parse(NULL, "0.000000000000000000000000000000000000000001", NOW) > 0,
        "many fraction digits");
  CHECK_NEAR(ae_retry_after_parse(NULL, "Fri, 29 Sep 2023 16:26:57 GMT", NOW), 20, 1e-9,
             "date minus now");

  CHECK(ae_http_date_parse("Fri, 29 Sep 2023 16:26:37 GMT", &t) == 0 && t == NOW, "IMF-fixdate");
  CHECK(ae_http_date_parse("Friday, 29-Sep-23 16:26:37 GMT", &t) == 0 && t == NOW, "RFC 850");
  CHECK(ae_http_date_parse("Fri Sep 29 16:26:37 2023", &t) == 0 && t == NOW, "asctime");
  CHECK(ae_http_date_parse("Sun Nov  6 08:49:37 1994", &t) == 0 && t == 784111777,
        "asctime, padded day");
  CHECK(ae_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t) == 0 && t == 784111777,
        "RFC 7231 example");
  CHECK(ae_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t) == 0 && t == 784111777,
        "RFC 850, 19xx");
  CHECK(ae_http_date_parse("Thu, 01 Jan 1970 00:00:00 GMT", &t) == 0 && t == 0, "epoch");
  CHECK(ae_http_date_parse("Thu, 29 Feb 2024 00:00:00 GMT", &t) == 0 && t == 1709164800,
        "leap day");
  CHECK(ae_http_date_parse("fri, 29 sep 2023 16:26:37 gmt", &t) == 0 && t == NOW,
        "names are case-insensitive");
  CHECK(ae_http_date_parse("Zun, 29 Sep 2023 16:26:37 GMT", &t) == -1, "bad weekday");
  CHECK(ae_http_date_parse("Fri, 29 Sep 2023 16:26:37 UTC", &t) == -1, "zone must be GMT");
  CHECK(ae_http_date_parse("Fri, 29 Sep 2023 16:26:37", &t) == -1, "missing zone");
  CHECK(ae_http_date_parse("Fri, 29 Sep 2023 16:26:37 GMTX", &t) == -1, "trailing junk");
  CHECK(ae_http_date_parse("Fri, 29 Foo 2023 16:26:37 GMT", &t) == -1, "bad month");
  CHECK(ae_http_date_parse("Fri, 30 Feb 2023 16:26:37 GMT", &t) == -1, "day out of month");
  CHECK(ae_http_date_parse("Fri, 29 Feb 2023 00:00:00 GMT", &t) == -1, "not a leap year");
  CHECK(ae_http_date_parse("Fri, 29 Sep 2023 24:00:00 GMT", &t) == -1, "hour 24");
  CHECK(ae_http_date_parse("Fri, 29 Sep 2023 16:60:00 GMT", &t) == -1, "minute 60");
  CHECK(ae_http_date_parse("Fri, 29 Sep 23 16:26:37 GMT", &t) == -1, "IMF needs 4-digit year");
  CHECK(ae_http_date_parse("Friday, 29 Sep 2023 16:26:37 GMT", &t) == -1, "long name, IMF body");
  CHECK(ae_http_date_parse("Fri,", &t) == -1, "truncated");
  CHECK(ae_http_date_parse("", &t) == -1, "empty");
  CHECK(ae_http_date_parse(NULL, &t) == -1, "NULL");
}

static void test_delay_rules(void) {
  check_exact(0, "100", "30", CAP, 0.1, "retry-after-ms 100 wins over retry-after");
  check_exact(0, NULL, "0.1", CAP, 0.1, "fractional retry-after");
  check_exact(0, NULL, "90", 120, 90, "cap 120 accepts 90");
  check_backoff(0, NULL, "90", CAP, 0.5, "cap 60 rejects 90");
  check_backoff(0, "0", "30", CAP, 0.5, "retry-after-ms 0 -> backoff, not retry-after");
  check_backoff(2, "-5", NULL, CAP, 2, "negative ms -> backoff");
  check_backoff(0, "1e999", NULL, HUGE_VAL, 0.5, "infinite value is never used, even uncapped");

  /* Backoff: 0.5, 1, 2, 4, 8, 8, ... */
  static const double want[] = {0.5, 1, 2, 4, 8, 8, 8, 8, 8, 8, 8};
  for (int n = 0; n <= 10; n++) {
    char what[32];
    snprintf(what, sizeof what, "backoff n=%d", n);
    check_backoff(n, NULL, NULL, CAP, want[n], what);
  }
  check_backoff(-5, NULL, NULL, CAP, 0.5, "negative n clamps to 0");
  check_backoff(1000, NULL, NULL, CAP, 8, "n=1000");
  check_backoff(2147483647, NULL, NULL, CAP, 8, "INT_MAX clamps");
  CHECK_NEAR(ae_retry_delay(0, NULL, NULL, CAP, NOW, 5.0), 0.375, 1e-12, "rand01 > 1 clamps");
  CHECK_NEAR(ae_retry_delay(0, NULL, NULL, CAP, NOW, -1.0), 0.5, 1e-12, "rand01 < 0 clamps");
}

static ae_attempt status(int code) {
  ae_attempt a = {0};
  a.status = code;
  a.request_sent = 1;
  a.idempotent = 1;
  return a;
}

static void test_should(void) {
  static const int yes[] = {408, 409, 429, 500, 502, 503, 504, 529, 599};
  static const int no[] = {200, 400, 401, 403, 404, 413, 422, 301};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    ae_attempt a = status(yes[i]);
    CHECK(ae_retry_should(&a) == 1, "%d retried", yes[i]);
  }
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
    ae_attempt a = status(no[i]);
    CHECK(ae_retry_should(&a) == 0, "%d not retried", no[i]);
  }

  ae_attempt a = status(400);
  a.should_retry = "true";
  CHECK(ae_retry_should(&a) == 1, "x-should-retry true on 400");
  a.should_retry = " TRUE ";
  CHECK(ae_retry_should(&a) == 1, "x-should-retry value is case-insensitive");
  a = status(500);
  a.should_retry = "false";
  CHECK(ae_retry_should(&a) == 0, "x-should-retry false on 500");
  a.should_retry = "False";
  CHECK(ae_retry_should(&a) == 0, "x-should-retry False on 500");
  a.should_retry = "maybe";
  CHECK(ae_retry_should(&a) == 1, "unknown x-should-retry value is ignored");
  a = status(200);
  a.should_retry = "true";
  CHECK(ae_retry_should(&a) == 0, "a 200 is an answer, even with x-should-retry true");
  a = status(304);
  a.should_retry = "true";
  CHECK(ae_retry_should(&a) == 0, "a 304 is an answer, even with x-should-retry true");

  a = status(429);
  a.spend_cap = 1;
  CHECK(ae_retry_should(&a) == 0, "spend-cap 429 not retried");
  a.should_retry = "true";
  CHECK(ae_retry_should(&a) == 0, "spend-cap 429 not retried even with x-should-retry true");

  /* Transport errors before the request was sent: always safe. */
  for (int tr = AE_TR_CONNECT; tr <= AE_TR_RESET; tr++) {
    ae_attempt t = {0};
    t.transport = tr;
    CHECK(ae_retry_should(&t) == 1, "transport %d retried", tr);
    CHECK(ae_retry_ambiguous(&t) == 0, "transport %d before sending is not ambiguous", tr);
  }
  /* After the request was sent: ambiguous. */
  ae_attempt t = {0};
  t.transport = AE_TR_TIMEOUT;
  t.request_sent = 1;
  CHECK(ae_retry_ambiguous(&t) == 1, "timeout after sending is ambiguous");
  CHECK(ae_retry_should(&t) == 0, "ambiguous non-idempotent not retried");
  t.idempotent = 1;
  CHECK(ae_retry_should(&t) == 1, "ambiguous idempotent retried");
  t.transport = AE_TR_RESET;
  t.idempotent = 0;
  CHECK(ae_retry_should(&t) == 0, "reset after sending, non-idempotent: not retried");
  a = status(400);
  CHECK(ae_retry_ambiguous(&a) == 0, "a 4xx answer is not ambiguous");
  /* A non-idempotent request: only answers that say it was turned away are retried. */
  static const int acted[] = {500, 502, 503, 504};
  for (size_t i = 0; i < sizeof acted / sizeof acted[0]; i++) {
    a = status(acted[i]);
    CHECK(ae_retry_ambiguous(&a) == 1, "%d may have acted", acted[i]);
    a.idempotent = 0;
    CHECK(ae_retry_should(&a) == 0, "%d not retried for a non-idempotent request", acted[i]);
  }
  static const int refused[] = {408, 409, 429, 529};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    a = status(refused[i]);
    a.idempotent = 0;
    CHECK(ae_retry_ambiguous(&a) == 0, "%d turned the request away", refused[i]);
    CHECK(ae_retry_should(&a) == 1, "%d retried even for a non-idempotent request", refused[i]);
  }
  ae_attempt none = {0};
  CHECK(ae_retry_should(&none) == 0, "no status, no transport error: nothing to retry");
}

int main(void) {
  test_sdk_table();
  test_retry_after_parse();
  test_delay_rules();
  test_should();
  return CHECK_DONE();
}
