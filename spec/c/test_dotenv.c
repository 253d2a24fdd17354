/* test_dotenv.c - the .env parser (src/dotenv.c) and last-assignment-wins via secret.c. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dotenv.h"
#include "secret.h"

/* Every assignment as "NAME=[value]\n" (value bytes verbatim). */
static char got[4096];
static size_t got_len;
static int err_line;
static const char *err_msg;

static int collect(const char *name, size_t nlen, const char *value, size_t vlen, void *ud) {
  int *stop_after = ud;
  if (got_len + nlen + vlen + 4 < sizeof got) {
    memcpy(got + got_len, name, nlen);
    got_len += nlen;
    got[got_len++] = '=';
    got[got_len++] = '[';
    memcpy(got + got_len, value, vlen);
    got_len += vlen;
    got[got_len++] = ']';
    got[got_len++] = '\n';
  }
  got[got_len] = 0;
  return stop_after && --*stop_after == 0;
}

static int parse_n(const char *src, size_t len) {
  got_len = 0;
  got[0] = 0;
  err_line = 0;
  err_msg = NULL;
  return ae_dotenv_parse(src, len, collect, NULL, &err_line, &err_msg);
}

#define PARSE(lit) parse_n((lit), sizeof(lit) - 1)

static void test_basic(void) {
  CHECK(PARSE("A=1\nB=2\n") == 0, "basic");
  CHECK_STR(got, "A=[1]\nB=[2]\n", "basic values: %s", got);
  CHECK(PARSE("A=1") == 0 && strcmp(got, "A=[1]\n") == 0, "no final line break: %s", got);
  CHECK(PARSE("") == 0 && got_len == 0, "empty buffer");
  CHECK(ae_dotenv_parse(NULL, 0, collect, NULL, NULL, NULL) == 0, "NULL, 0");
  CHECK(PARSE("# comment\n\n   \n\t# indented comment\nA=1\n#A=2\n") == 0, "comments");
  CHECK_STR(got, "A=[1]\n", "comments and blank lines skipped: %s", got);
  CHECK(PARSE("A=\nB=\"\"\nC=''\nD= \n") == 0, "empty values");
  CHECK_STR(got, "A=[]\nB=[]\nC=[]\nD=[]\n", "empty values: %s", got);
  CHECK(PARSE("_a_1=x\nLower=y\n") == 0, "name characters");
  CHECK_STR(got, "_a_1=[x]\nLower=[y]\n", "name characters: %s", got);
  CHECK(PARSE("A=a\0b\n") == 0 && got_len == 8 && memcmp(got, "A=[a\0b]\n", 8) == 0,
        "a NUL byte stays in the value");
}

static void test_export_and_spaces(void) {
  CHECK(PARSE("export A=1\nexport\t B = 2\nexport=3\nexport = 4\n  export C=5\n") == 0, "export");
  CHECK_STR(got, "A=[1]\nB=[2]\nexport=[3]\nexport=[4]\nC=[5]\n", "export prefix: %s", got);
  CHECK(PARSE("exportA=1\n") == 0 && strcmp(got, "exportA=[1]\n") == 0, "exportA is a name");
  CHECK(PARSE("A = 1 \n  B=  two  words \t\nC\t=\tx\n") == 0, "spaces around =");
  CHECK_STR(got, "A=[1]\nB=[two  words]\nC=[x]\n", "unquoted values trimmed: %s", got);
}

static void test_inline_comments(void) {
  CHECK(PARSE("A=1 # c\nB=x#y\nC= #only a comment\nD=a\t#tab\nE=#x\nF=u # v # w\n") == 0, "#");
  CHECK_STR(got, "A=[1]\nB=[x#y]\nC=[]\nD=[a]\nE=[#x]\nF=[u]\n", "inline comments: %s", got);
  CHECK(PARSE("A='q' # c\nB=\"d\"# c\nC=' # not a comment '\n") == 0, "# after quotes");
  CHECK_STR(got, "A=[q]\nB=[d]\nC=[ # not a comment ]\n", "comments after quotes: %s", got);
}

static void test_quotes(void) {
  CHECK(PARSE("A='x #y \\n $Z \"q\"'\nB='  pad  '\n") == 0, "single quotes");
  CHECK_STR(got, "A=[x #y \\n $Z \"q\"]\nB=[  pad  ]\n", "single quotes are literal: %s", got);
  CHECK(PARSE("A=\"a\\nb\\tc\\rd\\\"e\\\\f\\$g\"\n") == 0, "escapes");
  CHECK_STR(got, "A=[a\nb\tc\rd\"e\\f$g]\n", "double-quote escapes: %s", got);
  CHECK(PARSE("A=\"\\a\\x\\'\"\n") == 0, "unknown escapes");
  CHECK_STR(got, "A=[\\a\\x\\']\n", "unknown escapes keep the backslash: %s", got);
  CHECK(PARSE("A=\"it's ${HOME} 'x'\"\n") == 0, "no expansion");
  CHECK_STR(got, "A=[it's ${HOME} 'x']\n", "no variable expansion: %s", got);
  CHECK(PARSE("A=a\"b'c\n") == 0 && strcmp(got, "A=[a\"b'c]\n") == 0, "quotes inside unquoted");
}

static void test_multiline(void) {
  CHECK(PARSE("A=\"l1\nl2\r\nl3\rl4\"\nB=2\n") == 0, "multi-line");
  CHECK_STR(got, "A=[l1\nl2\nl3\nl4]\nB=[2]\n", "line breaks inside quotes become LF: %s", got);
  CHECK(PARSE("A=\"x\\\ny\"\n") == 0, "backslash before a line break");
  CHECK_STR(got, "A=[x\\\ny]\n", "backslash-newline kept: %s", got);
  CHECK(PARSE("A=\"x\ny\"\nbad\n") == -1 && err_line == 3, "line count after a multi-line value: %d",
        err_line);
  CHECK(PARSE("A=\"x\r\ny\"\r\nbad\r\n") == -1 && err_line == 3, "same with CRLF: %d", err_line);
}

static void test_line_endings(void) {
  CHECK(PARSE("A=1\r\nB='2'\r\n# c\r\n\r\nC=\"3\"\r\nD=4 # c\r\n") == 0, "CRLF");
  CHECK_STR(got, "A=[1]\nB=[2]\nC=[3]\nD=[4]\n", "CRLF file: %s", got);
  CHECK(PARSE("A=1\rB='2'\r\rC=\"3\"\r") == 0, "CR");
  CHECK_STR(got, "A=[1]\nB=[2]\nC=[3]\n", "CR file: %s", got);
  CHECK(PARSE("A=1\r\nB=2\r\nbad\r\n") == -1 && err_line == 3, "CRLF error line %d", err_line);
  CHECK(PARSE("A=1\rB=2\rbad\r") == -1 && err_line == 3, "CR error line %d", err_line);
}

static void test_bom(void) {
  CHECK(PARSE("\xEF\xBB\xBF" "A=1\n") == 0 && strcmp(got, "A=[1]\n") == 0, "BOM skipped: %s", got);
  CHECK(PARSE("\xEF\xBB\xBF") == 0 && got_len == 0, "only a BOM");
  CHECK(PARSE("\xEF\xBB\xBF# c\nA=1\n") == 0 && strcmp(got, "A=[1]\n") == 0, "BOM then comment");
  CHECK(PARSE("A=1\n\xEF\xBB\xBF" "B=2\n") == -1 && err_line == 2, "BOM only at the start");
}

static void check_error(const char *src, int line, const char *msg) {
  int r = parse_n(src, strlen(src));
  CHECK(r == -1, "error expected for %s", src);
  CHECK(err_line == line, "error line %d, want %d", err_line, line);
  CHECK_STR(err_msg, msg, "message \"%s\", want \"%s\"", err_msg ? err_msg : "(null)", msg);
}

static void test_errors(void) {
  const char *noeq = "line has no '=' (expected NAME=value)";
  const char *badname = "invalid variable name (use letters, digits and _, not starting with a digit)";
  check_error("A=1\nB='x\nC=2\n", 2, "unterminated single quote");
  check_error("A='x", 1, "unterminated single quote");
  check_error("A=1\n\nB=\"x\ny\n", 3, "unterminated double quote");
  check_error("A=\"x\\", 1, "unterminated double quote");
  check_error("A=\"x\\\"", 1, "unterminated double quote");
  check_error("A=1\nhello\n", 2, noeq);
  check_error("A=1\n\n\nexport FOO\n", 4, noeq);
  check_error("1A=2\n", 1, badname);
  check_error("A-B=1\n", 1, badname);
  check_error("=x\n", 1, badname);
  check_error("A B=1\n", 1, badname);
  check_error("A.B=1\n", 1, badname);
  check_error("A='x' y\n", 1, "unexpected text after the closing quote");
  check_error("A=\"x\"y\n", 1, "unexpected text after the closing quote");
  /* the assignments before the error were delivered */
  CHECK(PARSE("A=1\nB=2\n?\n") == -1 && strcmp(got, "A=[1]\nB=[2]\n") == 0, "partial: %s", got);
  /* a static message, never the value */
  CHECK(PARSE("KEY='sk-ant-api03-secretvalue\n") == -1 && err_msg && !strstr(err_msg, "secret"),
        "message without the value");
  CHECK(ae_dotenv_parse("x", 1, collect, NULL, NULL, NULL) == -1, "NULL error outputs are fine");
}

static void test_stop(void) {
  int stop_after = 2;
  got_len = 0;
  CHECK(ae_dotenv_parse("A=1\nB=2\nC=3\n", 12, collect, &stop_after, NULL, NULL) == 1, "stop");
  CHECK_STR(got, "A=[1]\nB=[2]\n", "the callback stopped the parse: %s", got);
  stop_after = 1;
  got_len = 0;
  CHECK(ae_dotenv_parse("A=\"1\"\n???", 9, collect, &stop_after, NULL, NULL) == 1,
        "stop before a later syntax error");
}

/* The decoded value of a double-quoted assignment is wiped once its callback returns. */
static const char *first_value;
static int wiped_ok = -1;

static int watch(const char *name, size_t nlen, const char *value, size_t vlen, void *ud) {
  (void)ud;
  (void)vlen;
  if (nlen == 1 && name[0] == 'A') first_value = value;
  if (nlen == 1 && name[0] == 'B') {
    wiped_ok = 1;
    for (int i = 0; i < 6; i++)
      if (first_value[i] != 0) wiped_ok = 0;
  }
  return 0;
}

static void test_wipe(void) {
  const char *src = "A=\"secret\"\nB=plain\n";
  CHECK(ae_dotenv_parse(src, strlen(src), watch, NULL, NULL, NULL) == 0, "wipe parse");
  CHECK(first_value && first_value != src + 3 && wiped_ok == 1, "scratch wiped after callback");
}

/* ae_secret_from_dotenv: the last assignment wins. */
static void test_last_wins(void) {
  char dir[] = "/tmp/dotenv-test-XXXXXX", path[64], err[AE_ERRLEN], hint[64];
  const char *src = "ANTHROPIC_API_KEY=sk-ant-first-key-000000000000000000\n"
                    "OTHER=x\n"
                    "export ANTHROPIC_API_KEY = \"sk-ant-second-key-11111111111111111\" # wins\n"
                    "ANTHROPIC_API_KEY_2=nope\n";
  const char *bytes;
  size_t len;
  ae_secret *s;
  FILE *f;
  if (!mkdtemp(dir)) {
    CHECK(0, "mkdtemp");
    return;
  }
  snprintf(path, sizeof path, "%s/.env", dir);
  f = fopen(path, "w");
  fputs(src, f);
  fclose(f);
  chmod(path, 0600);
  s = ae_secret_from_dotenv(path, "ANTHROPIC_API_KEY", err, sizeof err);
  bytes = ae_secret_bytes(s, &len);
  CHECK(s && len == 35 && memcmp(bytes, "sk-ant-second-key-11111111111111111", 35) == 0,
        "last assignment wins (%s)", err);
  ae_secret_hint(s, hint, sizeof hint);
  CHECK_STR(hint, "sk-ant-second-ke...1111", "hint %s", hint);
  ae_secret_free(s);
  s = ae_secret_from_dotenv(path, "ANTHROPIC", err, sizeof err);
  CHECK(s == NULL && err[0] == 0, "a prefix of a name does not match");
  unlink(path);
  rmdir(dir);
}

int main(void) {
  test_basic();
  test_export_and_spaces();
  test_inline_comments();
  test_quotes();
  test_multiline();
  test_line_endings();
  test_bom();
  test_errors();
  test_stop();
  test_wipe();
  test_last_wins();
  return CHECK_DONE();
}
