/* fuzz_jtext.c - libFuzzer target for the text delta reader (jtext.h).
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc spec/fuzz/fuzz_jtext.c src/jtext.c \
 *     -o /tmp/fuzz_jtext && /tmp/fuzz_jtext -max_total_time=30 spec/fuzz/jtext
 * The input is the event data, in a buffer of exactly its size (ASan catches any read past it),
 * and the output buffer has exactly the room jtext.h promises. When the input is recognised,
 * the text is written back as canonical JSON, which must be recognised again with the same
 * text and index; the index must be in range. The same bytes are also read as one JSON string. */
#include "jtext.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t canonical(char *dst, long index, const char *text, size_t n) {
  size_t o = (size_t)sprintf(dst, "{\"type\":\"content_block_delta\",\"index\":%ld,\"delta\":"
                                  "{\"type\":\"text_delta\",\"text\":\"", index);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\') {
      dst[o++] = '\\';
      dst[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)sprintf(dst + o, "\\u%04x", c);
    } else {
      dst[o++] = (char)c;
    }
  }
  memcpy(dst + o, "\"}}", 3);
  return o + 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = malloc(size ? size : 1);
  char *out = malloc(size ? size : 1);
  if (!in || !out) abort();
  memcpy(in, data, size);
  size_t n = 0;
  long index = -1;
  if (ae_text_delta(in, size, out, &n, &index)) {
    if (n > size || index < 0 || index > 999999999) abort();
    char *again = malloc(100 + 6 * n);
    char *out2 = malloc(100 + 6 * n);
    if (!again || !out2) abort();
    size_t len = canonical(again, index, out, n);
    size_t n2 = 0;
    long index2 = -1;
    if (!ae_text_delta(again, len, out2, &n2, &index2)) abort();
    if (n2 != n || index2 != index || memcmp(out, out2, n) != 0) abort();
    free(again);
    free(out2);
  }
  size_t sn = 0;
  const char *after = ae_json_string(in, in + size, out, &sn);
  if (after && (after <= in || after > in + size || sn > size)) abort();
  free(in);
  free(out);
  return 0;
}
