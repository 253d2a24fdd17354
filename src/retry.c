/* retry.c - the retry decision and delay (design section 5; reference 5.2-5.4).
 * Follows the official Python SDK. Numbers and dates are parsed by hand so the result
 * never depends on the C locale (strtod would read "0,1" under de_DE) and needs no libm. */
#include "retry.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_RETRIES_EXP 1000 /* n is clamped to this, as PY does */

/* ---------- small scanning helpers ---------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_ows(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* Trim optional whitespace: sets [*b, *e) to the header value proper. */
static void trim(const char *s, const char **b, const char **e) {
  const char *end = s + strlen(s);
  while (s < end && is_ows(*s)) s++;
  while (end > s && is_ows(end[-1])) end--;
  *b = s;
  *e = end;
}

/* ASCII case-insensitive: is [b, e) exactly `word`? */
static int word_eq(const char *b, const char *e, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(e - b) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower(b[i]) != word[i]) return 0;
  return 1;
}

/* ---------- decimal numbers ---------- */

/* Parse a whole string as a decimal float: [+-] digits [. digits] [(e|E) [+-] digits],
 * surrounding whitespace allowed. No hex, inf or nan (PY's float() takes inf/nan, but
 * both end in backoff anyway). Returns 0 and sets *out, or -1. Huge values become
 * large or infinite doubles, never a wrapped-around small one. */
static int parse_decimal(const char *s, double *out) {
  const char *p, *e;
  uint64_t mant = 0;
  long exp10 = 0;
  int neg = 0, ndigits = 0, sig = 0;
  trim(s, &p, &e);
  if (p < e && (*p == '+' || *p == '-')) neg = (*p++ == '-');
  for (; p < e && is_digit(*p); p++, ndigits++) {
    if (sig < 19) {
      mant = mant * 10 + (uint64_t)(*p - '0');
      if (mant) sig++;
    } else {
      exp10++; /* digit dropped: keep the magnitude */
    }
  }
  if (p < e && *p == '.') {
    for (p++; p < e && is_digit(*p); p++, ndigits++) {
      if (sig < 19) {
        mant = mant * 10 + (uint64_t)(*p - '0');
        if (mant) sig++;
        exp10--;
      }
    }
  }
  if (ndigits == 0) return -1;
  if (p < e && (*p == 'e' || *p == 'E')) {
    long x = 0;
    int xneg = 0, xdigits = 0;
    p++;
    if (p < e && (*p == '+' || *p == '-')) xneg = (*p++ == '-');
    for (; p < e && is_digit(*p); p++, xdigits++)
      if (x < 100000) x = x * 10 + (*p - '0'); /* saturate: beyond this it is 0 or inf */
    if (xdigits == 0) return -1;
    exp10 += xneg ? -x : x;
  }
  if (p != e) return -1;
  double v = (double)mant;
  if (mant != 0) {
    /* Dividing by an exact power of ten rounds correctly for the usual "0.1"-style input. */
    for (; exp10 > 0 && v < 1e300; exp10--) v *= 10.0;
    if (exp10 > 0) v = HUGE_VAL;
    for (; exp10 < 0 && v > 0.0; exp10++) v /= 10.0;
  }
  *out = neg ? -v : v;
  return 0;
}

/* ---------- HTTP dates ---------- */

static const char *const wkday_short[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const wkday_long[7] = {"monday", "tuesday", "wednesday", "thursday",
                                          "friday", "saturday", "sunday"};
static const char *const month_names[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};

/* Index of [b, e) in `names` (ASCII case-insensitive), or -1. */
static int name_index(const char *b, const char *e, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (word_eq(b, e, names[i])) return i;
  return -1;
}

/* Read an alphabetic word; returns its end. */
static const char *scan_alpha(const char *p) {
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) p++;
  return p;
}

/* Read exactly `n` digits into *v. */
static int scan_digits(const char **pp, int n, int *v) {
  const char *p = *pp;
  int x = 0;
  for (int i = 0; i < n; i++, p++) {
    if (!is_digit(*p)) return -1;
    x = x * 10 + (*p - '0');
  }
  *pp = p;
  *v = x;
  return 0;
}

static int scan_char(const char **pp, char c) {
  if (**pp != c) return -1;
  (*pp)++;
  return 0;
}

/* Three-letter month name. */
static int scan_month(const char **pp, int *mon) {
  const char *e = scan_alpha(*pp);
  *mon = name_index(*pp, e, month_names, 12);
  *pp = e;
  return *mon < 0 ? -1 : 0;
}

/* "HH:MM:SS" */
static int scan_time(const char **pp, int *h, int *m, int *s) {
  if (scan_digits(pp, 2, h) || scan_char(pp, ':') || scan_digits(pp, 2, m) ||
      scan_char(pp, ':') || scan_digits(pp, 2, s))
    return -1;
  return 0;
}

static int is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(long y, int mon) {
  static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return d[mon] + (mon == 1 && is_leap(y));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long y, int mon /* 0-11 */, int d) {
  long m = mon + 1;
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (long long)era * 146097 + doe - 719468;
}

/* Range-check the fields and turn them into a time_t. Second 60 (a leap second) is allowed. */
static int make_time(long y, int mon, int d, int h, int mi, int s, time_t *out) {
  if (d < 1 || d > days_in_month(y, mon) || h > 23 || mi > 59 || s > 60) return -1;
  long long t = days_from_civil(y, mon, d) * 86400LL + h * 3600LL + mi * 60LL + s;
  if ((long long)(time_t)t != t) return -1; /* does not fit a 32-bit time_t */
  *out = (time_t)t;
  return 0;
}

/* IMF-fixdate after "Wkd,": " 29 Sep 2023 16:26:57 GMT" */
static int parse_imf(const char *p, const char *end, time_t *out) {
  int d, mon, y, h, mi, s;
  if (scan_char(&p, ' ') || scan_digits(&p, 2, &d) || scan_char(&p, ' ') || scan_month(&p, &mon) ||
      scan_char(&p, ' ') || scan_digits(&p, 4, &y) || scan_char(&p, ' ') ||
      scan_time(&p, &h, &mi, &s) || scan_char(&p, ' ') || !word_eq(p, end, "gmt"))
    return -1;
  return make_time(y, mon, d, h, mi, s, out);
}

/* RFC 850 after "Weekday,": " 29-Sep-23 16:26:57 GMT". Two-digit years follow PY's
 * email.utils: 69-99 are 19xx, 00-68 are 20xx. */
static int parse_rfc850(const char *p, const char *end, time_t *out) {
  int d, mon, y, h, mi, s;
  if (scan_char(&p, ' ') || scan_digits(&p, 2, &d) || scan_char(&p, '-') || scan_month(&p, &mon) ||
      scan_char(&p, '-') || scan_digits(&p, 2, &y) || scan_char(&p, ' ') ||
      scan_time(&p, &h, &mi, &s) || scan_char(&p, ' ') || !word_eq(p, end, "gmt"))
    return -1;
  return make_time(y + (y > 68 ? 1900 : 2000), mon, d, h, mi, s, out);
}

/* asctime after "Wkd": " Sep 29 16:26:57 2023", the day space-padded (" 6") or two digits. */
static int parse_asctime(const char *p, const char *end, time_t *out) {
  int d, mon, y, h, mi, s;
  if (scan_char(&p, ' ') || scan_month(&p, &mon) || scan_char(&p, ' ')) return -1;
  if (*p == ' ') p++; /* " 6" */
  if (is_digit(p[0]) && is_digit(p[1])) {
    if (scan_digits(&p, 2, &d)) return -1;
  } else if (scan_digits(&p, 1, &d)) {
    return -1;
  }
  if (scan_char(&p, ' ') || scan_time(&p, &h, &mi, &s) || scan_char(&p, ' ') ||
      scan_digits(&p, 4, &y) || p != end)
    return -1;
  return make_time(y, mon, d, h, mi, s, out);
}

/* The weekday name picks the form; it must be a real one ("Zun" is rejected) but is not
 * checked against the date, as most HTTP stacks do not. */
int ae_http_date_parse(const char *s, time_t *out) {
  const char *p, *end, *w;
  if (s == NULL) return -1;
  trim(s, &p, &end);
  w = scan_alpha(p);
  if (w >= end) return -1;
  if (*w == ',') {
    if (name_index(p, w, wkday_short, 7) >= 0) return parse_imf(w + 1, end, out);
    if (name_index(p, w, wkday_long, 7) >= 0) return parse_rfc850(w + 1, end, out);
    return -1;
  }
  if (name_index(p, w, wkday_short, 7) >= 0) return parse_asctime(w, end, out);
  return -1;
}

/* ---------- the public rules ---------- */

/* The server may have acted: the request went out and no answer came back, or the answer is a
 * server error that does not say the request was turned away (529 overloaded does). */
int ae_retry_ambiguous(const ae_attempt *a) {
  if (!a->request_sent) return 0;
  return a->status == 0 || (a->status >= 500 && a->status != 529);
}

/* x-should-retry: 1 true, 0 false, -1 absent or anything else. */
static int should_retry_header(const char *v) {
  const char *b, *e;
  if (v == NULL) return -1;
  trim(v, &b, &e);
  if (word_eq(b, e, "true")) return 1;
  if (word_eq(b, e, "false")) return 0;
  return -1;
}

int ae_retry_should(const ae_attempt *a) {
  int hdr;
  if (a->status >= 200 && a->status < 400) return 0; /* an answer, even with x-should-retry */
  if (a->spend_cap && a->status == 429) return 0; /* retrying cannot help until the cap is raised */
  if (ae_retry_ambiguous(a) && !a->idempotent) return 0; /* the server may have acted */
  hdr = should_retry_header(a->should_retry);
  if (hdr >= 0) return hdr;
  if (a->status == 408 || a->status == 409 || a->status == 429 || a->status >= 500) return 1;
  if (a->status != 0) return 0;
  return a->transport != AE_TR_NONE;
}

/* PY order: a retry-after-ms that parses wins even when it is <= 0; one that does not
 * parse falls through to retry-after. */
double ae_retry_after_parse(const char *retry_after_ms, const char *retry_after, time_t now) {
  double v;
  time_t t;
  if (retry_after_ms && parse_decimal(retry_after_ms, &v) == 0) return v / 1000.0;
  if (retry_after == NULL) return -1;
  if (parse_decimal(retry_after, &v) == 0) return v;
  if (ae_http_date_parse(retry_after, &t) == 0) return (double)t - (double)now;
  return -1;
}

double ae_retry_delay(int retries_taken, const char *retry_after_ms, const char *retry_after,
                      double cap, time_t now, double rand01) {
  double v = ae_retry_after_parse(retry_after_ms, retry_after, now);
  double d = AE_RETRY_INITIAL_DELAY;
  int n = retries_taken < 0 ? 0 : retries_taken > MAX_RETRIES_EXP ? MAX_RETRIES_EXP : retries_taken;
  if (isfinite(v) && v > 0 && v <= cap) return v; /* the server knows best; no jitter */
  for (; n > 0 && d < AE_RETRY_MAX_DELAY; n--) d *= 2;
  if (d > AE_RETRY_MAX_DELAY) d = AE_RETRY_MAX_DELAY;
  if (!(rand01 >= 0)) rand01 = 0; /* also catches NaN */
  if (rand01 > 1) rand01 = 1;
  return d * (1 - 0.25 * rand01);
}
