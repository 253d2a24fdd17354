/* retry.h - the retry decision and delay, as the official SDKs do it (design section 5).
 * Pure C: no Lua headers, no clock, no randomness of its own (callers pass `now` and `rand01`),
 * so every rule is unit-testable with a fixed clock. */
#ifndef AE_RETRY_H
#define AE_RETRY_H

#include <time.h>

#define AE_RETRY_INITIAL_DELAY 0.5
#define AE_RETRY_MAX_DELAY 8.0

/* What one finished attempt looked like. */
typedef struct ae_attempt {
  int status;                 /* HTTP status; 0 when no response arrived */
  int transport;              /* AE_TR_NONE, AE_TR_CONNECT, AE_TR_TIMEOUT, AE_TR_RESET */
  const char *should_retry;   /* x-should-retry header value or NULL */
  const char *retry_after;    /* retry-after header value or NULL */
  const char *retry_after_ms; /* retry-after-ms header value or NULL */
  int spend_cap;              /* body says enforced_spend_limit_reached */
  int request_sent;           /* the whole request reached the server (a failure after this is ambiguous) */
  int idempotent;             /* the request is safe to repeat after an ambiguous failure */
} ae_attempt;

enum { AE_TR_NONE = 0, AE_TR_CONNECT, AE_TR_TIMEOUT, AE_TR_RESET };

/* 1 if the attempt may be retried (ignoring the retry budget), else 0.
 * Order: spend-cap 429 never; a non-idempotent request after an ambiguous failure never;
 * x-should-retry true/false; 408, 409, 429, >= 500; transport errors. Other statuses: no. */
int ae_retry_should(const ae_attempt *a);

/* 1 if a failure is ambiguous: the server may have acted (the request was sent and either no
 * complete answer came, or the answer is a 5xx other than 529 overloaded). */
int ae_retry_ambiguous(const ae_attempt *a);

/* Seconds the server asked us to wait, from retry-after-ms (float ms), else retry-after
 * (float seconds, or an HTTP date minus `now`). Returns -1 when absent or unparsable. */
double ae_retry_after_parse(const char *retry_after_ms, const char *retry_after, time_t now);

/* Parse an HTTP date (RFC 7231 IMF-fixdate, RFC 850, asctime). Returns 0 and sets *out (UTC)
 * on success, -1 otherwise. */
int ae_http_date_parse(const char *s, time_t *out);

/* Delay before the next attempt. `retries_taken` is n (0 before the first retry; clamped to
 * [0, 1000]). A server value v is used as is when 0 < v <= cap; otherwise
 * min(0.5 * 2^n, 8) * (1 - 0.25 * rand01), rand01 in [0, 1). */
double ae_retry_delay(int retries_taken, const char *retry_after_ms, const char *retry_after,
                      double cap, time_t now, double rand01);

#endif
