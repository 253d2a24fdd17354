/* fuzz_retry.c - libFuzzer target for the retry header parsing and decisions (src/retry.c).
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc spec/fuzz/fuzz_retry.c src/retry.c \
 *     -o /tmp/fuzz_retry && /tmp/fuzz_retry -max_total_time=30 spec/fuzz/retry
 * Input: a 20-byte control block (shorter inputs are zero-padded), then up to three header
 * values separated by '\n': retry-after-ms, retry-after, x-should-retry.
 *   c[0]  bit 0/1/2: retry-after-ms / retry-after / x-should-retry present (else NULL);
 *         bit 6: `now` from a table of extremes; bit 7: retries_taken scaled by 1000
 *   c[1]  retries_taken (signed)      c[2]  cap         c[3]  rand01
 *   c[4..7]  now - 1696004797 (signed)
 *   c[8..13] a time for the formatter round trip   c[14] its form and spelling   c[15] case mask
 *   c[16..17] status   c[18] transport   c[19] bit 0 spend_cap, bit 1 request_sent, bit 2 idempotent
 * Checks, besides ASan/UBSan:
 *  - ae_retry_after_parse never returns NaN; it is -1, v/1000 of a decimal retry-after-ms, v of a
 *    decimal retry-after, or date - now, in that order; decimals agree with strtod;
 *  - ae_retry_delay is in [0, max(cap, 8)]: the server's value exactly when 0 < v <= cap, else
 *    the backoff min(0.5 * 2^n, 8) cut by at most 25 % of jitter;
 *  - a date that parses is within years 0-9999, re-formats to the same text (names and "GMT" up
 *    to case) and the formatted text parses back to the same time;
 *  - a valid time formatted in each of the three forms (varied case and whitespace) parses back;
 *  - ae_retry_should follows the documented order of rules (given ae_retry_ambiguous's answer,
 *    which must be 0 before sending, 1 when no answer came, 0 for any status below 500). */
#include "retry.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE_NOW 1696004797LL /* Fri, 29 Sep 2023 16:26:37 GMT */
#define T_MIN (-62167219200LL) /* 0000-01-01 00:00:00 */
#define T_MAX 253402300799LL   /* 9999-12-31 23:59:59 */
#define CTL 20

static const char *const wk_short[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const wk_long[7] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ---------- a tiny HTTP date formatter (independent of retry.c's parser) ---------- */

typedef struct civil {
  long long y;
  int mon, d, h, mi, s, wday; /* mon 0-11, wday 0 = Monday */
} civil;

static long long floor_div(long long a, long long b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* H. Hinnant's civil_from_days, the inverse of days_from_civil. */
static civil to_civil(long long t) {
  civil c;
  long long days = floor_div(t, 86400), sec = t - days * 86400;
  long long z = days + 719468;
  long long era = floor_div(z, 146097);
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long m = mp < 10 ? mp + 3 : mp - 9;
  c.y = yoe + era * 400 + (m <= 2);
  c.mon = (int)m - 1;
  c.d = (int)(doy - (153 * mp + 2) / 5 + 1);
  c.h = (int)(sec / 3600);
  c.mi = (int)(sec / 60 % 60);
  c.s = (int)(sec % 60);
  c.wday = (int)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
  return c;
}

enum { F_IMF, F_850, F_ASC };

/* asctime day styles: " 6" (the standard), "06", "6", " 06" - all accepted by the parser. */
static void format_date(char *buf, size_t n, long long t, int form, int day_style) {
  civil c = to_civil(t);
  static const char *const day_fmt[4] = {"%2d", "%02d", "%d", " %02d"};
  char day[8];
  switch (form) {
  case F_IMF:
    snprintf(buf, n, "%s, %02d %s %04lld %02d:%02d:%02d GMT", wk_short[c.wday], c.d, months[c.mon],
             c.y, c.h, c.mi, c.s);
    break;
  case F_850:
    snprintf(buf, n, "%s, %02d-%s-%02lld %02d:%02d:%02d GMT", wk_long[c.wday], c.d, months[c.mon],
             c.y % 100, c.h, c.mi, c.s);
    break;
  default:
    snprintf(day, sizeof day, day_fmt[day_style & 3], c.d);
    snprintf(buf, n, "%s %s %s %02d:%02d:%02d %04lld", wk_short[c.wday], months[c.mon], day, c.h,
             c.mi, c.s, c.y);
    break;
  }
}

/* ---------- reference checks ---------- */

static int ows(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int digit(char c) { return c >= '0' && c <= '9'; }
static int alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The trimmed value as a fresh string. */
static char *trimmed(const char *s) {
  size_t b = 0, e = strlen(s);
  while (b < e && ows(s[b])) b++;
  while (e > b && ows(s[e - 1])) e--;
  char *r = malloc(e - b + 1);
  if (!r) abort();
  memcpy(r, s + b, e - b);
  r[e - b] = '\0';
  return r;
}

/* The documented decimal grammar: [+-] digits [. digits] [(e|E) [+-] digits], at least one
 * mantissa digit. On a match, *x gets strtod's reading. */
static int ref_decimal(const char *s, double *x) {
  char *t = trimmed(s), *p = t, *end;
  int nd = 0, ok = 0;
  if (*p == '+' || *p == '-') p++;
  while (digit(*p)) p++, nd++;
  if (*p == '.')
    for (p++; digit(*p); p++) nd++;
  if (nd && (*p == 'e' || *p == 'E')) {
    int xd = 0;
    p++;
    if (*p == '+' || *p == '-') p++;
    while (digit(*p)) p++, xd++;
    if (!xd) nd = 0;
  }
  if (nd && *p == '\0') {
    *x = strtod(t, &end);
    if (*end) abort(); /* strtod reads a superset of this grammar */
    ok = 1;
  }
  free(t);
  return ok;
}

/* parse_decimal's contract against strtod: close (within REL) in the normal range; huge stays
 * huge (maybe infinite); tiny stays tiny; never NaN, never a wrong sign. */
#define REL 1e-12
#define TINY 1e-290
static void check_decimal(double v, double x) {
  if (isnan(v)) abort();
  if (v == x) return;
  if (fabs(x) <= TINY) {
    /* "close" holds at the edge too: 1e-290 itself may read as a hair above TINY */
    if (fabs(v) > TINY * (1 + REL)) abort();
    return;
  }
  if ((v < 0) != (x < 0)) abort();
  if (fabs(x) >= 1e299) {
    if (!isinf(v) && fabs(v - x) > REL * fabs(x)) abort();
    return;
  }
  if (fabs(v - x) > REL * fabs(x)) abort();
}

static int word_in(const char *b, size_t n, const char *const *names) {
  for (int i = 0; i < 7; i++)
    if (strlen(names[i]) == n && strncasecmp(b, names[i], n) == 0) return 1;
  return 0;
}

/* A date that parsed: its range, its text and the round trip through the formatter. */
static void check_parsed_date(const char *s, long long t) {
  char *in = trimmed(s), buf[96];
  const char *w = in;
  size_t wl;
  int matched = 0;
  time_t back;
  if (t < T_MIN || t > T_MAX + 1) abort(); /* + 1: 9999-12-31 23:59:60 */
  while (alpha(*w)) w++;
  wl = (size_t)(w - in);
  if (*w == ',') {
    if (!word_in(in, wl, wk_short) && !word_in(in, wl, wk_long)) abort();
  } else if (!word_in(in, wl, wk_short)) {
    abort();
  }
  if (t <= T_MAX) {
    for (int form = F_IMF; form <= F_ASC; form++) {
      for (int style = 0; style < (form == F_ASC ? 4 : 1); style++) {
        const char *fw = buf;
        if (form == F_850 && (to_civil(t).y < 1969 || to_civil(t).y > 2068)) continue;
        format_date(buf, sizeof buf, t, form, style);
        if (ae_http_date_parse(buf, &back) != 0 || (long long)back != t) abort();
        while (alpha(*fw)) fw++;
        /* Same text after the weekday (whose value the parser does not check), up to case. */
        if (strcasecmp(w, fw) == 0) {
          if (form == F_IMF && !word_in(in, wl, wk_short)) abort();
          if (form == F_850 && !word_in(in, wl, wk_long)) abort();
          matched = 1;
        }
      }
    }
  }
  /* Only a leap second (hh:mm:60, read as the next minute) has no text of its own. */
  if (!matched && !strstr(in, ":60")) abort();
  free(in);
}

/* A valid time in every form and some spellings: the parser must give it back. */
static void check_round_trip(const uint8_t *c, time_t now) {
  uint64_t raw = 0;
  char buf[96], spelled[128];
  time_t back;
  for (int i = 0; i < 6; i++) raw = raw << 8 | c[8 + i];
  long long t = T_MIN + (long long)(raw % (uint64_t)(T_MAX - T_MIN + 1));
  int form = c[14] % 3, style = (c[14] >> 2) & 3;
  if (form == F_850) { /* two-digit years: 1969-2068 only */
    long long lo = -31536000LL, hi = 3124223999LL;
    t = lo + (long long)(raw % (uint64_t)(hi - lo + 1));
  }
  format_date(buf, sizeof buf, t, form, style);
  /* Letters in either case (by the mask), optional surrounding whitespace. */
  size_t n = 0;
  if (c[14] & 0x10) spelled[n++] = ' ';
  if (c[14] & 0x20) spelled[n++] = '\t';
  for (size_t i = 0; buf[i]; i++) {
    char ch = buf[i];
    if (alpha(ch) && (c[15] >> (i % 8) & 1)) ch = (char)(ch ^ 0x20);
    spelled[n++] = ch;
  }
  if (c[14] & 0x40) spelled[n++] = ' ';
  if (c[14] & 0x80) spelled[n++] = '\r';
  spelled[n] = '\0';
  if (ae_http_date_parse(spelled, &back) != 0 || (long long)back != t) abort();
  double r = ae_retry_after_parse(NULL, spelled, now);
  if (r != (double)t - (double)now) abort();
  if (ae_retry_after_parse("x", spelled, now) != r) abort(); /* a bad ms falls through */
}

static double pick_cap(uint8_t b) {
  static const double special[16] = {0,    1,     8,     60,    600, -1, NAN,  INFINITY,
                                     -INFINITY, 1e308, 0.5, 1e-300, 7.9, 8.1, 86400, 3600};
  return b < 16 ? special[b] : (b - 16) * 0.5;
}

static double pick_rand(uint8_t b) {
  static const double special[8] = {0, 1, -1, 2, NAN, 0.999999999, INFINITY, -INFINITY};
  return b < 8 ? special[b] : (b - 8) / 248.0;
}

static time_t pick_now(const uint8_t *c) {
  static const long long special[8] = {0, -1, T_MIN, T_MAX, 1LL << 40, -(1LL << 40),
                                       INT64_MAX, INT64_MIN};
  int32_t off = (int32_t)((uint32_t)c[4] << 24 | (uint32_t)c[5] << 16 | (uint32_t)c[6] << 8 | c[7]);
  if (c[0] & 0x40) return (time_t)special[c[4] & 7];
  return (time_t)(BASE_NOW + off);
}

/* x-should-retry as documented: trimmed, ASCII case-insensitive "true"/"false", else absent. */
static int ref_header(const char *v) {
  int r = -1;
  if (!v) return -1;
  char *t = trimmed(v);
  if (strcasecmp(t, "true") == 0) r = 1;
  else if (strcasecmp(t, "false") == 0) r = 0;
  free(t);
  return r;
}

static void check_should(const uint8_t *c, const char *should_retry) {
  static const int special[8] = {0, 200, 429, 500, 529, -1, 99999, 408};
  ae_attempt a = {0};
  int code = c[16] << 8 | c[17];
  a.status = code < 8 ? special[code] : code % 700;
  a.transport = c[18] % 5; /* 4: not a documented value; must still be 0/1 */
  a.spend_cap = c[19] & 1;
  a.request_sent = (c[19] >> 1) & 1;
  a.idempotent = (c[19] >> 2) & 1;
  a.should_retry = should_retry;
  a.retry_after = "1";
  int amb = ae_retry_ambiguous(&a), got = ae_retry_should(&a), want;
  /* Ambiguous: only once the request was sent; always when no answer came; never for an
   * answer below 500 (which 5xx count is for retry.c to say). */
  if (amb != 0 && amb != 1) abort();
  if (!a.request_sent && amb) abort();
  if (a.request_sent && a.status == 0 && !amb) abort();
  if (a.status > 0 && a.status < 500 && amb) abort();
  int hdr = ref_header(should_retry);
  if (a.status >= 200 && a.status < 400) want = 0;
  else if (a.spend_cap && a.status == 429) want = 0;
  else if (amb && !a.idempotent) want = 0;
  else if (hdr >= 0) want = hdr;
  else if (a.status == 408 || a.status == 409 || a.status == 429 || a.status >= 500) want = 1;
  else if (a.status != 0) want = 0;
  else want = a.transport != AE_TR_NONE;
  if (got != want) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t c[CTL] = {0};
  char *text, *field[3] = {NULL, NULL, NULL};
  const char *ms, *ra, *sr;
  size_t tn = size > CTL ? size - CTL : 0;
  memcpy(c, data, size < CTL ? size : CTL);
  text = malloc(tn + 1);
  if (!text) abort();
  if (tn) memcpy(text, data + CTL, tn);
  text[tn] = '\0';
  field[0] = text;
  for (int i = 1; i < 3; i++) {
    char *nl = field[i - 1] ? strchr(field[i - 1], '\n') : NULL;
    if (nl) *nl = '\0', field[i] = nl + 1;
  }
  ms = (c[0] & 1) ? (field[0] ? field[0] : "") : NULL;
  ra = (c[0] & 2) ? (field[1] ? field[1] : "") : NULL;
  sr = (c[0] & 4) ? (field[2] ? field[2] : "") : NULL;

  int n = (int8_t)c[1];
  if (c[0] & 0x80) n *= 1000;
  double cap = pick_cap(c[2]), rnd = pick_rand(c[3]);
  time_t now = pick_now(c), t;

  /* retry-after-ms alone, retry-after alone, then together in the documented order. */
  double x, v_ms = ae_retry_after_parse(ms, NULL, now), v_ra = ae_retry_after_parse(NULL, ra, now);
  double r = ae_retry_after_parse(ms, ra, now);
  if (isnan(v_ms) || isnan(v_ra) || isnan(r)) abort();
  int ms_ok = ms && ref_decimal(ms, &x);
  if (ms_ok) {
    double v = ae_retry_after_parse(NULL, ms, now); /* the same string in seconds */
    check_decimal(v, x);
    if (v_ms != v / 1000.0) abort();
  } else if (v_ms != -1) {
    abort();
  }
  int date_ok = ra && ae_http_date_parse(ra, &t) == 0;
  if (ra && ref_decimal(ra, &x)) {
    if (date_ok) abort(); /* no text is both */
    check_decimal(v_ra, x);
  } else if (date_ok) {
    if (v_ra != (double)t - (double)now) abort();
    check_parsed_date(ra, (long long)t);
  } else if (v_ra != -1) {
    abort();
  }
  if (r != (ms_ok ? v_ms : v_ra)) abort();
  if (ms && ae_http_date_parse(ms, &t) == 0) check_parsed_date(ms, (long long)t);

  /* The delay. */
  double d = ae_retry_delay(n, ms, ra, cap, now, rnd);
  double hi = isnan(cap) ? 8 : fmax(cap, 8);
  if (isnan(d) || d < 0 || d > hi) abort();
  if (isfinite(r) && r > 0 && r <= cap) {
    if (d != r) abort();
  } else {
    int k = n < 0 ? 0 : n > 1000 ? 1000 : n;
    double b = k >= 4 ? 8 : 0.5 * (double)(1 << k);
    if (d < 0.75 * b || d > b) abort();
  }

  check_round_trip(c, now);
  check_should(c, sr);
  free(text);
  return 0;
}
