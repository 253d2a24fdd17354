/* fuzz_dotenv.c - libFuzzer target for the .env parser (src/dotenv.c).
 * Build and run: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *   spec/fuzz/fuzz_dotenv.c src/dotenv.c -o /tmp/fd && /tmp/fd -max_total_time=20 spec/fuzz/dotenv
 * Besides the sanitizers it checks the contract: the result is -1, 0 or 1; an error has a
 * message and a line within the input; names are [A-Za-z_][A-Za-z0-9_]*; every value byte
 * is readable and no value is longer than the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Fuzz {
  size_t size;
  int calls, stop_at; /* stop_at 0: never stop */
  unsigned sum;
} Fuzz;

static int is_alpha_(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int cb(const char *name, size_t nlen, const char *value, size_t vlen, void *ud) {
  Fuzz *F = ud;
  if (nlen == 0 || nlen > F->size || vlen > F->size || !is_alpha_(name[0])) abort();
  for (size_t i = 1; i < nlen; i++)
    if (!is_alpha_(name[i]) && !(name[i] >= '0' && name[i] <= '9')) abort();
  for (size_t i = 0; i < vlen; i++) F->sum += (unsigned char)value[i]; /* ASan checks the reads */
  return ++F->calls == F->stop_at;
}

/* The most lines the input can have: every line break counts, CRLF being one. */
static int max_lines(const uint8_t *d, size_t n) {
  int lines = 1;
  for (size_t i = 0; i < n; i++)
    if (d[i] == '\n' || (d[i] == '\r' && !(i + 1 < n && d[i + 1] == '\n'))) lines++;
  return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Fuzz F = {size, 0, 0, 0};
  int line = 0, r;
  const char *msg = NULL;
  char *copy;
  if (size > 0) F.stop_at = data[size - 1] % 4; /* sometimes stop early; the byte stays input */
  copy = malloc(size ? size : 1); /* exact size, so any over-read is caught */
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  r = ae_dotenv_parse(copy, size, cb, &F, &line, &msg);
  if (r < -1 || r > 1) abort();
  if (r == 1 && F.calls != F.stop_at) abort();
  if (r == -1 && (!msg || line < 1 || line > max_lines(data, size))) abort();
  free(copy);
  return 0;
}
