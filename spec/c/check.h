/* check.h - a tiny unit-test harness for the pure C parts (retry, dotenv, secret, sse).
 * Each test program prints "ok"/"not ok" lines and ends with "N passed, N failed". */
#ifndef AE_CHECK_H
#define AE_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed_, check_failed_;

#define CHECK(cond, ...)                                                                 \
  do {                                                                                   \
    if (cond) {                                                                          \
      check_passed_++;                                                                   \
    } else {                                                                             \
      check_failed_++;                                                                   \
      printf("not ok %s:%d: ", __FILE__, __LINE__);                                      \
      printf(__VA_ARGS__);                                                               \
      printf("\n");                                                                      \
    }                                                                                    \
  } while (0)

#define CHECK_STR(got, want, ...)                                                        \
  CHECK((got) != NULL && strcmp((got), (want)) == 0, __VA_ARGS__)

#define CHECK_NEAR(got, want, tol, ...)                                                  \
  CHECK((got) >= (want) - (tol) && (got) <= (want) + (tol), __VA_ARGS__)

#define CHECK_DONE()                                                                     \
  (printf("%d passed, %d failed\n", check_passed_, check_failed_), check_failed_ != 0)

#endif
