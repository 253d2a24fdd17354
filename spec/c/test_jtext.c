/* test_jtext.c - the text delta reader (jtext.h): what it recognises, what it unescapes, and
 * everything it must leave to the full decoder. */
#include "check.h"
#include "jtext.h"

#include <stdlib.h>
#include <string.h>

/* 1 and the text when recognised, else 0. */
static int td(const char *json, char *text, size_t *n, long *index) {
  size_t len = strlen(json);
  char *out = malloc(len + 1);
  if (!out) abort();
  int ok = ae_text_delta(json, len, out, n, index);
  if (ok) {
    memcpy(text, out, *n);
    text[*n] = '\0';
  }
  free(out);
  return ok;
}

static void yes(const char *json, const char *want, long want_index, int line) {
  char text[256];
  size_t n = 0;
  long index = -1;
  int ok = td(json, text, &n, &index);
  CHECK(ok, "line %d: not recognised: %s", line, json);
  if (!ok) return;
  CHECK(n == strlen(want) && memcmp(text, want, n) == 0, "line %d: text '%s', want '%s'", line, text, want);
  CHECK(index == want_index, "line %d: index %ld, want %ld", line, index, want_index);
}

static void no(const char *json, int line) {
  char text[256];
  size_t n;
  long index;
  CHECK(!td(json, text, &n, &index), "line %d: recognised, but must fall back: %s", line, json);
}

#define YES(json, text, index) yes(json, text, index, __LINE__)
#define NO(json) no(json, __LINE__)

static void test_shapes(void) {
  YES("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}",
      "Hello", 0);
  YES("{\"index\":12,\"delta\":{\"text\":\"a b\",\"type\":\"text_delta\"},\"type\":\"content_block_delta\"}",
      "a b", 12);
  YES(" {\n\t\"type\" : \"content_block_delta\" ,\r\n \"index\" : 3 , \"delta\" : { \"type\" : "
      "\"text_delta\" , \"text\" : \"x\" } } \n",
      "x", 3);
  YES("{\"type\":\"content_block_delta\",\"index\":999999999,\"delta\":{\"type\":\"text_delta\",\"text\":\"\"}}",
      "", 999999999);
}

static void test_escapes(void) {
  YES("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
      "\"text\":\"a\\nb\\\"c\\\\d\\/e\\tf\\rg\\bh\\fi\"}}",
      "a\nb\"c\\d/e\tf\rg\bh\fi", 0);
  YES("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
      "\"text\":\"\\u00e9\\u00E9 \\u20ac \\u0041\"}}",
      "\xC3\xA9\xC3\xA9 \xE2\x82\xAC A", 0);
  /* U+1F600 as a surrogate pair; raw UTF-8 passes through */
  YES("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
      "\"text\":\"\\ud83d\\ude00 \xF0\x9F\x98\x80 caf\xC3\xA9\"}}",
      "\xF0\x9F\x98\x80 \xF0\x9F\x98\x80 caf\xC3\xA9", 0);
  /* \u0000 gives a NUL byte inside the text */
  char text[16];
  size_t n = 0;
  long index;
  const char *j = "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\u0000b\"}}";
  CHECK(td(j, text, &n, &index) && n == 3 && memcmp(text, "a\0b", 3) == 0, "\\u0000 in the text");
}

static void test_fallbacks(void) {
  /* other events and other deltas */
  NO("{\"type\":\"ping\"}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"message_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  /* missing, extra or repeated members */
  NO("{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\",\"citations\":[]}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"extra\":null,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\",\"text\":\"y\"}}");
  NO("{\"type\":\"content_block_delta\",\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  /* numbers other than plain whole ones */
  NO("{\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":1.0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":1e2,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":01,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":1234567890,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":\"0\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  /* a text that is not a valid string */
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":7}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\u12\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\u12g4\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\ud83d\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\ud83d\\u0041\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\ude00\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\tb\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"abc");
  /* escapes in names and type values, broken structure, trailing bytes */
  NO("{\"typ\\u0065\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delt\\u0061\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"},}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}} x");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}}");
  NO("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}");
  NO("{\"type\":\"content_block_delta\" \"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
  NO("[\"content_block_delta\"]");
  NO("{}");
  NO("");
  NO("   ");
}

static void test_string(void) {
  char out[32];
  size_t n = 99;
  const char *s = "\"ab\\\"c\" rest";
  const char *end = s + strlen(s);
  const char *after = ae_json_string(s, end, out, &n);
  CHECK(after == s + 7 && n == 4 && memcmp(out, "ab\"c", 4) == 0, "ae_json_string stops after the quote");
  CHECK(ae_json_string("x\"", end, out, &n) == NULL, "must start with a quote");
  CHECK(ae_json_string(s, s + 3, out, &n) == NULL, "unterminated within end");
  CHECK(ae_json_string("\"a\\", s + 3, out, &n) == NULL, "a backslash at the end");
}

/* ae_json_plain (a word at a time) against a byte loop, on every stop byte at every offset and
 * on random buffers (bytes >= 0x80 and ' ' are plain; '"', '\\' and < 0x20 stop it). */
static size_t plain_slow(const char *p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] != '"' && p[i] != '\\' && (unsigned char)p[i] >= 0x20) i++;
  return i;
}

static void test_plain(void) {
  char buf[40];
  const char stops[] = {'"', '\\', '\0', '\n', 0x1f};
  int bad = 0;
  for (size_t k = 0; k < sizeof stops; k++)
    for (size_t at = 0; at < sizeof buf; at++) {
      memset(buf, 'a', sizeof buf);
      buf[at] = stops[k];
      if (ae_json_plain(buf, buf + sizeof buf) != at) bad++;
    }
  CHECK(bad == 0, "plain: stops at each stop byte at every offset");
  memset(buf, 0x80, sizeof buf);
  buf[3] = ' ';
  buf[9] = 0x7f;
  CHECK(ae_json_plain(buf, buf + sizeof buf) == sizeof buf, "plain: high bytes, space and DEL are plain");
  CHECK(ae_json_plain(buf, buf) == 0, "plain: empty");
  srand(7);
  bad = 0;
  for (int r = 0; r < 20000; r++) {
    size_t n = (size_t)(rand() % (int)sizeof buf);
    for (size_t i = 0; i < n; i++) buf[i] = (char)(rand() % 7 ? 0x20 + rand() % 224 : rand() % 256);
    if (ae_json_plain(buf, buf + n) != plain_slow(buf, n)) bad++;
  }
  CHECK(bad == 0, "plain: agrees with a byte loop on random buffers");
}

int main(void) {
  test_plain();
  test_shapes();
  test_escapes();
  test_fallbacks();
  test_string();
  return CHECK_DONE();
}
