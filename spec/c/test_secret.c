/* test_secret.c - key storage, validation, hints, key files, key commands, .env lookups and
 * scrubbing (src/secret.c). Files live in a mkdtemp directory under /tmp, removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "secret.h"

static char dir[] = "/tmp/secret-test-XXXXXX";
static char err[AE_ERRLEN];

/* A path in the temp dir (static buffer per slot). */
static const char *tmp_path(const char *name) {
  static char paths[8][sizeof dir + 256]; /* a d_name is at most 255 bytes */
  static int slot;
  char *p = paths[slot++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s", dir, name);
  return p;
}

static const char *write_file(const char *name, const char *content, size_t len, mode_t mode) {
  const char *path = tmp_path(name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, content, len) != (ssize_t)len) perror(path);
  fchmod(fd, mode); /* exact mode, whatever the umask */
  close(fd);
  return path;
}

#define WRITE(name, lit, mode) write_file((name), (lit), sizeof(lit) - 1, (mode))

/* Does secret s hold exactly `want`? */
static int holds(const ae_secret *s, const char *want) {
  size_t len;
  const char *b = ae_secret_bytes(s, &len);
  return b && len == strlen(want) && memcmp(b, want, len) == 0 && b[len] == 0;
}

static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

static int no_children_left(void) { return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------- ae_secret_new ---------- */

static void check_invalid(const char *bytes, size_t len, const char *msg) {
  ae_secret *s = ae_secret_new(bytes, len, err, sizeof err);
  CHECK(s == NULL, "refused: %s", msg);
  CHECK_STR(err, msg, "message \"%s\", want \"%s\"", err, msg);
  CHECK(strstr(err, "SECRETXYZ") == NULL && strstr(err, "sk-ant") == NULL, "no key bytes: %s", err);
  ae_secret_free(s);
}

static void test_new(void) {
  char big[AE_SECRET_MAX + 2];
  ae_secret *s = ae_secret_new(" \t sk-ant-api03-SECRETXYZ\r\n", 27, err, sizeof err);
  CHECK(s && holds(s, "sk-ant-api03-SECRETXYZ") && err[0] == 0, "trimmed: %s", err);
  CHECK(ae_secret_kind(s) == AE_KEY_API, "api kind");
  ae_secret_free(s);
  ae_secret_free(NULL);

  check_invalid("", 0, "the key is empty");
  check_invalid(NULL, 5, "the key is empty");
  check_invalid(" \r\n\t ", 5, "the key is empty");
  check_invalid(" sk-ant-ab SECRETXYZ", 20,
                "the key contains whitespace at byte 10; check for a pasted line break or space");
  check_invalid("sk-ant-ab\nSECRETXYZ\n", 20,
                "the key contains whitespace at byte 10; check for a pasted line break or space");
  check_invalid("sk-ant\x01SECRETXYZ", 16,
                "the key contains a control byte at byte 7; check for a pasted escape sequence");
  check_invalid("sk\x7fSECRETXYZ", 12,
                "the key contains a control byte at byte 3; check for a pasted escape sequence");
  check_invalid("sk-ant\0SECRETXYZ", 16,
                "the key contains a control byte at byte 7; check for a pasted escape sequence");
  memset(big, 'a', sizeof big);
  check_invalid(big, AE_SECRET_MAX + 1, "the key is too long (4097 bytes; at most 4096)");
  s = ae_secret_new(big, AE_SECRET_MAX, err, sizeof err);
  CHECK(s != NULL, "AE_SECRET_MAX bytes are fine");
  ae_secret_free(s);

  CHECK(ae_secret_new("a b", 3, err, 8) == NULL && strlen(err) == 7, "message truncated to errlen");
  CHECK(ae_secret_new("a b", 3, NULL, 0) == NULL, "NULL err is fine");
}

static void test_kind(void) {
  const char *keys[] = {"sk-ant-admin01-abc", "sk-ant-api03-abc", "sk-ant-admi", "xsk-ant-admin01"};
  int want[] = {AE_KEY_ADMIN, AE_KEY_API, AE_KEY_API, AE_KEY_API};
  for (int i = 0; i < 4; i++) {
    ae_secret *s = ae_secret_new(keys[i], strlen(keys[i]), err, sizeof err);
    CHECK(ae_secret_kind(s) == want[i], "kind of %s", keys[i]);
    ae_secret_free(s);
  }
  CHECK(ae_secret_kind(NULL) == AE_KEY_API, "kind of NULL");
}

static void check_hint(const char *key, size_t outlen, const char *want) {
  char out[64];
  ae_secret *s = ae_secret_new(key, strlen(key), err, sizeof err);
  ae_secret_hint(s, out, outlen);
  CHECK_STR(out, want, "hint of %s: %s, want %s", key, out, want);
  ae_secret_free(s);
}

static void test_hint(void) {
  /* 16 bytes, like the Console's "sk-ant-api03-R2D...igAA" */
  check_hint("sk-ant-api03-R2D0123456789-abcdefghij_igAA", 64, "sk-ant-api03-R2D...igAA");
  check_hint("abcdefghijklmnopqrstuvwxy", 64, "abcdefghijklmnop...vwxy");  /* 25 bytes */
  check_hint("abcdefghijklmnopqrstuvwx", 64, "...wx");                    /* 24 */
  check_hint("abcdefghijkl", 64, "...kl");                                /* 12 */
  check_hint("abcdefghijk", 64, "...");                                   /* 11 */
  check_hint("sk-ant-api03-R2D0123456789-abcdefghij_igAA", 5, "sk-a");
  {
    char out[8] = "x";
    ae_secret_hint(NULL, out, sizeof out);
    CHECK_STR(out, "...", "hint of NULL");
    ae_secret_hint(NULL, out, 0); /* must not write */
  }
}

/* ---------- key files ---------- */

static void check_file_err(const char *path, const char *want) {
  ae_secret *s = ae_secret_from_file(path, err, sizeof err);
  CHECK(s == NULL, "refused: %s", path);
  CHECK_STR(err, want, "message \"%s\", want \"%s\"", err, want);
  CHECK(strstr(err, "SECRETXYZ") == NULL, "no key bytes: %s", err);
  ae_secret_free(s);
}

static void check_file_ok(const char *path, const char *want) {
  ae_secret *s = ae_secret_from_file(path, err, sizeof err);
  CHECK(holds(s, want) && err[0] == 0, "key file %s: %s", path, err);
  ae_secret_free(s);
}

static void test_files(void) {
  char want[AE_ERRLEN], big[5000];
  const char *p;
  p = WRITE("k600", "sk-ant-api03-SECRETXYZ\n", 0600);
  check_file_ok(p, "sk-ant-api03-SECRETXYZ");
  check_file_ok(WRITE("k400", "sk-ant-api03-SECRETXYZ", 0400), "sk-ant-api03-SECRETXYZ");
  check_file_ok(WRITE("k620", "sk-ant-api03-SECRETXYZ", 0620), "sk-ant-api03-SECRETXYZ");
  p = WRITE("k640", "sk-ant-api03-SECRETXYZ\n", 0640);
  snprintf(want, sizeof want,
           "key file %s is readable by group/others (mode 0640); run: chmod 600 %s", p, p);
  check_file_err(p, want);
  p = WRITE("k604", "sk-ant-api03-SECRETXYZ\n", 0604);
  snprintf(want, sizeof want,
           "key file %s is readable by group/others (mode 0604); run: chmod 600 %s", p, p);
  check_file_err(p, want);
  p = tmp_path("missing");
  snprintf(want, sizeof want, "cannot open key file %s: No such file or directory", p);
  check_file_err(p, want);
  snprintf(want, sizeof want, "key file %s is a directory", dir);
  check_file_err(dir, want);
  p = WRITE("empty", "", 0600);
  snprintf(want, sizeof want, "key file %s is empty", p);
  check_file_err(p, want);
  p = WRITE("blank", "\n  \r\n\t\n", 0600);
  snprintf(want, sizeof want, "key file %s is empty", p);
  check_file_err(p, want);
  check_file_ok(WRITE("first", "\n   \n  sk-ant-api03-first  \nsecond line\n", 0600),
                "sk-ant-api03-first");
  check_file_ok(WRITE("crlf", "sk-ant-api03-crlf\r\n", 0600), "sk-ant-api03-crlf");
  check_file_ok(WRITE("crlf2", "\r\n\r\nsk-ant-api03-crlf\r\nother\r\n", 0600), "sk-ant-api03-crlf");
  check_file_ok(WRITE("cr", "\rsk-ant-api03-cr\rother", 0600), "sk-ant-api03-cr");
  p = WRITE("inner", "sk-ant SECRETXYZ\n", 0600);
  snprintf(want, sizeof want,
           "key file %s: the key contains whitespace at byte 7; check for a pasted line break or "
           "space", p);
  check_file_err(p, want);
  memset(big, 'a', sizeof big);
  p = write_file("big", big, sizeof big, 0600);
  snprintf(want, sizeof want, "key file %s is larger than 4096 bytes", p);
  check_file_err(p, want);
}

/* ---------- key commands ---------- */

static ae_secret *run(const char *a0, const char *a1, const char *a2, double timeout) {
  char *argv[] = {(char *)a0, (char *)a1, (char *)a2, NULL};
  return ae_secret_from_command(argv, timeout, err, sizeof err);
}

static void check_cmd_err(ae_secret *s, const char *want) {
  CHECK(s == NULL, "command refused: %s", want);
  CHECK_STR(err, want, "message \"%s\", want \"%s\"", err, want);
  CHECK(strstr(err, "SECRETXYZ") == NULL, "no key bytes: %s", err);
  CHECK(no_children_left(), "no child left behind (%s)", want);
  ae_secret_free(s);
}

static void test_command_ok(void) {
  ae_secret *s = run("sh", "-c", "printf 'sk-ant-api03-SECRETXYZ\\n'", 5);
  CHECK(holds(s, "sk-ant-api03-SECRETXYZ") && err[0] == 0, "command output: %s", err);
  ae_secret_free(s);
  s = run("printf", "%s", "  sk-ant-admin01-x \n", 5); /* PATH lookup, no shell */
  CHECK(holds(s, "sk-ant-admin01-x") && ae_secret_kind(s) == AE_KEY_ADMIN, "printf: %s", err);
  ae_secret_free(s);
  s = run("sh", "-c", "readlink /proc/$$/fd/0", 5);
  CHECK(holds(s, "/dev/null"), "stdin is /dev/null: %s", err);
  ae_secret_free(s);
  s = run("sh", "-c", "printf abcdefghijkl", 0);
  CHECK(holds(s, "abcdefghijkl"), "timeout 0 means no limit: %s", err);
  ae_secret_free(s);
  CHECK(no_children_left(), "children reaped");
}

static void test_command_errors(void) {
  char *empty[] = {NULL};
  ae_secret *s;
  check_cmd_err(run("sh", "-c", "printf sk-ant-api03-SECRETXYZ; exit 3", 5),
                "key command sh exited with status 3");
  check_cmd_err(run("sh", "-c", "kill -TERM $$", 5), "key command sh was killed by signal 15");
  check_cmd_err(run("no-such-program-xyz", NULL, NULL, 5),
                "cannot run key command no-such-program-xyz: No such file or directory");
  check_cmd_err(run("/etc/passwd", NULL, NULL, 5),
                "cannot run key command /etc/passwd: Permission denied");
  check_cmd_err(run("true", NULL, NULL, 5), "key command true printed nothing");
  check_cmd_err(run("sh", "-c", "printf '\\n \\r\\n'", 5), "key command sh printed nothing");
  check_cmd_err(run("sh", "-c", "head -c 5000 /dev/zero | tr '\\000' a", 5),
                "key command sh printed more than 4096 bytes");
  check_cmd_err(run("yes", "SECRETXYZ", NULL, 5), "key command yes printed more than 4096 bytes");
  check_cmd_err(run("sh", "-c", "printf 'sk-ant SECRETXYZ'", 5),
                "key command sh: the key contains whitespace at byte 7; check for a pasted line "
                "break or space");
  s = ae_secret_from_command(empty, 5, err, sizeof err);
  CHECK(s == NULL && strcmp(err, "the key command is empty") == 0, "empty argv: %s", err);
}

static void test_command_timeout(void) {
  double t0 = now_s();
  ae_secret *s = run("sleep", "5", NULL, 0.2);
  double dt = now_s() - t0;
  check_cmd_err(s, "key command sleep timed out after 0.2s");
  CHECK(dt >= 0.19 && dt < 1.0, "returned after %.3f s, well before 5 s", dt);
  /* stdout closed but still running: the wait for its exit honours the deadline too */
  t0 = now_s();
  s = run("sh", "-c", "printf abcdefghijklmnop; exec >&-; sleep 5", 0.3);
  dt = now_s() - t0;
  check_cmd_err(s, "key command sh timed out after 0.3s");
  CHECK(dt >= 0.29 && dt < 1.5, "returned after %.3f s", dt);
}

/* stderr is inherited, never captured: the key-like text reaches our stderr, not err. */
static void test_command_stderr(void) {
  const char *log = tmp_path("stderr.log");
  char text[256] = "";
  int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  FILE *f;
  ae_secret *s;
  fflush(stderr);
  dup2(fd, 2);
  close(fd);
  s = run("sh", "-c", "echo sk-ant-api03-STDERRLEAK >&2; exit 1", 5);
  dup2(saved, 2);
  close(saved);
  check_cmd_err(s, "key command sh exited with status 1");
  CHECK(strstr(err, "STDERRLEAK") == NULL, "stderr not in the message: %s", err);
  f = fopen(log, "r");
  if (f) {
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
  }
  CHECK(strstr(text, "sk-ant-api03-STDERRLEAK") != NULL, "stderr was inherited: %s", text);
  unlink(log);
}

/* The parent's descriptors neither leak nor stay open in the child. */
static void test_command_fds(void) {
  char script[128];
  int before, extra = open("/dev/null", O_RDONLY); /* not CLOEXEC: the child must not see it */
  ae_secret *s;
  snprintf(script, sizeof script, "[ -e /proc/$$/fd/%d ] && echo leaked || echo clean", extra);
  s = run("sh", "-c", script, 5);
  CHECK(holds(s, "clean"), "the host's fds are closed in the child: %s", err);
  ae_secret_free(s);
  close(extra);
  before = count_fds();
  ae_secret_free(run("sh", "-c", "echo abc", 5));
  ae_secret_free(run("sh", "-c", "exit 2", 5));
  ae_secret_free(run("no-such-program-xyz", NULL, NULL, 5));
  ae_secret_free(run("sleep", "5", NULL, 0.05));
  CHECK(count_fds() == before, "no fd leaked in the parent (%d -> %d)", before, count_fds());
}

/* ---------- .env lookups ---------- */

static void check_env(const char *path, const char *name, const char *want_key, const char *want_err) {
  ae_secret *s = ae_secret_from_dotenv(path, name, err, sizeof err);
  if (want_key)
    CHECK(holds(s, want_key) && err[0] == 0, "%s in %s: %s", name, path, err);
  else
    CHECK(s == NULL, "no key from %s", path);
  CHECK_STR(err, want_err, "message \"%s\", want \"%s\"", err, want_err);
  CHECK(strstr(err, "SECRETXYZ") == NULL, "no key bytes: %s", err);
  ae_secret_free(s);
}

static void test_dotenv(void) {
  char want[AE_ERRLEN];
  const char *p = WRITE(".env", "# keys\nOTHER=1\nexport ANTHROPIC_API_KEY='sk-ant-api03-SECRETXYZ'\n",
                        0600);
  check_env(p, "ANTHROPIC_API_KEY", "sk-ant-api03-SECRETXYZ", "");
  check_env(p, "ANTHROPIC_AUTH_TOKEN", NULL, "");
  check_env(tmp_path("no.env"), "ANTHROPIC_API_KEY", NULL, "");
  check_env(tmp_path("k600/.env"), "ANTHROPIC_API_KEY", NULL, ""); /* ENOTDIR: absent too */
  p = WRITE("crlf.env", "A=\"x\"\r\nANTHROPIC_API_KEY = \"sk-ant-api03-SECRETXYZ\" # c\r\n", 0600);
  check_env(p, "A", "x", "");
  check_env(p, "ANTHROPIC_API_KEY", "sk-ant-api03-SECRETXYZ", "");
  p = WRITE("open.env", "ANTHROPIC_API_KEY=sk-ant-api03-SECRETXYZ\n", 0644);
  snprintf(want, sizeof want,
           "dotenv file %s is readable by group/others (mode 0644); run: chmod 600 %s", p, p);
  check_env(p, "ANTHROPIC_API_KEY", NULL, want);
  p = WRITE("bad.env", "ANTHROPIC_API_KEY=ok\nB='SECRETXYZ\n", 0600);
  snprintf(want, sizeof want, "%s:2: unterminated single quote", p);
  check_env(p, "ANTHROPIC_API_KEY", NULL, want);
  p = WRITE("empty.env", "ANTHROPIC_API_KEY=sk-ant-api03-SECRETXYZ\nANTHROPIC_API_KEY=\n", 0600);
  snprintf(want, sizeof want, "%s: ANTHROPIC_API_KEY: the key is empty", p);
  check_env(p, "ANTHROPIC_API_KEY", NULL, want);
  p = WRITE("space.env", "ANTHROPIC_API_KEY=\"sk-ant SECRETXYZ\"\n", 0600);
  snprintf(want, sizeof want,
           "%s: ANTHROPIC_API_KEY: the key contains whitespace at byte 7; check for a pasted line "
           "break or space", p);
  check_env(p, "ANTHROPIC_API_KEY", NULL, want);
  p = WRITE("fix.env", "ANTHROPIC_API_KEY=\"sk-ant SECRETXYZ\"\nANTHROPIC_API_KEY=good-key-1\n", 0600);
  check_env(p, "ANTHROPIC_API_KEY", "good-key-1", "");
  snprintf(want, sizeof want, "dotenv file %s is a directory", dir);
  check_env(dir, "ANTHROPIC_API_KEY", NULL, want);
}

/* ---------- scrubbing ---------- */

static void check_scrub(const char *in, const ae_secret *s, size_t outlen, const char *want) {
  char out[256];
  size_t n = ae_scrub(in, s, out, outlen);
  CHECK_STR(out, want, "scrub \"%s\" (%zu): \"%s\", want \"%s\"", in ? in : "(null)", outlen, out,
            want);
  CHECK(n == strlen(want), "scrub length %zu, want %zu", n, strlen(want));
}

/* Pieces of a key (a bearer token without the sk-ant- prefix, so only the key rules apply):
 * 17 bytes or more in a row are hidden wherever they stand; a hint's 16 first bytes are not. */
static void test_scrub_pieces(void) {
  const char *key = "tok_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";
  ae_secret *t = ae_secret_new(key, strlen(key), err, sizeof err);
  char in[200], want[200];
  CHECK(t != NULL, "token key: %s", err);
  /* the tail of a key cut at its start, and a key split in two by markup */
  check_scrub("...56789abcdefghijklmnopqrstuvwxyzABCDEFGH end", t, 256, "...[redacted] end");
  check_scrub("<td>tok_0123456789abcd</td><td>efghijklmnopqrstuvwxyzABCDEFGH</td>", t, 256,
              "<td>[redacted]</td><td>[redacted]</td>");
  /* a middle piece, found again after a false start on the same first byte */
  check_scrub("a 0123 0123456789abcdefg z", t, 256, "a 0123 [redacted] z");
  /* 16 bytes is not a piece: a hint stays readable */
  check_scrub("key tok_0123456789ab...FGH", t, 256, "key tok_0123456789ab...FGH");
  check_scrub("x 56789abcdefghijk.", t, 256, "x 56789abcdefghijk.");
  check_scrub("x 56789abcdefghijkl.", t, 256, "x [redacted].");
  /* a piece that runs into the end of the text is cut there, nothing read past the NUL */
  snprintf(in, sizeof in, "[%.*s", 20, key + 10);
  snprintf(want, sizeof want, "[[redacted]");
  check_scrub(in, t, 256, want);
  ae_secret_free(t);
  /* keys shorter than a piece are only matched whole (or as a prefix at the end) */
  t = ae_secret_new("XYZKEY123456", 12, err, sizeof err);
  check_scrub("x YZKEY123456 y", t, 256, "x YZKEY123456 y");
  ae_secret_free(t);
}

static void test_scrub(void) {
  ae_secret *k = ae_secret_new("XYZKEY123456", 12, err, sizeof err);
  ae_secret *ak = ae_secret_new("sk-ant-api03-KEY", 16, err, sizeof err);
  char *heap;
  char out[4] = "abc";
  check_scrub("error: bad key XYZKEY123456 here", k, 256, "error: bad key [redacted] here");
  check_scrub("XYZKEY123456XYZKEY123456 XYZKEY123456", k, 256, "[redacted][redacted] [redacted]");
  check_scrub("x=XYZKEY123456", NULL, 256, "x=XYZKEY123456");
  check_scrub("auth sk-ant-api03-abc_DEF-9 failed", NULL, 256, "auth [redacted] failed");
  check_scrub("a sk-ant-x.y and sk-ant-admin01-z\n", k, 256, "a [redacted].y and [redacted]\n");
  check_scrub("sk-ant-", NULL, 256, "[redacted]");
  check_scrub("sk-an sk_ant-x", NULL, 256, "sk-an sk_ant-x");
  check_scrub("xsk-ant-api03-KEYmore!", ak, 256, "x[redacted]!");
  check_scrub("Bearer sk-ant-api03-KEY", ak, 256, "Bearer [redacted]");
  /* truncation: "[redacted]" whole or not at all, and the result is always terminated */
  check_scrub("abc sk-ant-xyz", NULL, 10, "abc ");
  check_scrub("abc sk-ant-xyz", NULL, 14, "abc ");
  check_scrub("abc sk-ant-xyz", NULL, 15, "abc [redacted]");
  check_scrub("abcdef", NULL, 4, "abc");
  check_scrub("abcdef", NULL, 1, "");
  CHECK(ae_scrub("abc", NULL, out, 0) == 0 && strcmp(out, "abc") == 0, "outlen 0 writes nothing");
  check_scrub("ab\xC3\xA9" "cd", NULL, 4, "ab");           /* no half UTF-8 character */
  check_scrub("ab\xE2\x82\xAC" "cd", NULL, 5, "ab");
  check_scrub("ab\xE2\x82\xAC" "cd", NULL, 6, "ab\xE2\x82\xAC");
  /* text cut in the middle of the key still hides the part that is there (>= 8 bytes) */
  check_scrub("prefix XYZKEY12", k, 256, "prefix [redacted]");
  check_scrub("prefix XYZK", k, 256, "prefix XYZK");
  check_scrub(NULL, k, 256, "");
  /* never reads past the NUL (valgrind checks the exact-size heap copy) */
  heap = strdup("XYZKEY12345");
  check_scrub(heap, k, 256, "[redacted]");
  free(heap);
  heap = strdup("sk-ant-abc");
  check_scrub(heap, NULL, 256, "[redacted]");
  free(heap);
  check_scrub("ab\0XYZKEY123456", k, 256, "ab");
  ae_secret_free(k);
  ae_secret_free(ak);
  test_scrub_pieces();
}

static void cleanup(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      unlink(tmp_path(e->d_name));
  if (d) closedir(d);
  rmdir(dir);
}

static void test_with_prefix(void) {
  char msg[AE_ERRLEN];
  ae_secret *k = ae_secret_new("sk-ant-admin01-abcdefghijklmnop", 31, msg, sizeof msg);
  ae_secret *h = k ? ae_secret_with_prefix(k, "x-api-key: ") : NULL;
  size_t len = 0;
  const char *b = ae_secret_bytes(h, &len);
  CHECK(h && len == 42 && strcmp(b, "x-api-key: sk-ant-admin01-abcdefghijklmnop") == 0,
        "with_prefix builds the header line");
  CHECK(h && ae_secret_kind(h) == AE_KEY_ADMIN, "with_prefix keeps the kind");
  ae_secret *c = k ? ae_secret_with_prefix(k, "") : NULL;
  b = ae_secret_bytes(c, &len);
  CHECK(c && len == 31 && strcmp(b, "sk-ant-admin01-abcdefghijklmnop") == 0, "empty prefix copies");
  ae_secret_free(c);
  ae_secret_free(h);
  ae_secret_free(k);
}

/* A transfer holds a reference: the key and its cached header line outlive the owner's free. */
static void test_ref_and_header(void) {
  char msg[AE_ERRLEN];
  ae_secret *k = ae_secret_new("sk-ant-api03-abcdefghijklmnop", 29, msg, sizeof msg);
  const char *h1 = k ? ae_secret_header(k, 0) : NULL;
  const char *h2 = k ? ae_secret_header(k, 0) : NULL;
  const char *b = k ? ae_secret_header(k, 1) : NULL;
  CHECK(h1 && strcmp(h1, "x-api-key: sk-ant-api03-abcdefghijklmnop") == 0, "header: x-api-key line");
  CHECK(h1 == h2, "header: made once, then the same line");
  CHECK(b && strcmp(b, "Authorization: Bearer sk-ant-api03-abcdefghijklmnop") == 0,
        "header: bearer line");
  ae_secret *r = ae_secret_ref(k);
  CHECK(r == k, "ref returns the same key");
  ae_secret_free(k); /* the owner lets go; the reference keeps both alive */
  CHECK(strcmp(ae_secret_bytes(r, NULL), "sk-ant-api03-abcdefghijklmnop") == 0 &&
            strcmp(h1, "x-api-key: sk-ant-api03-abcdefghijklmnop") == 0,
        "ref: key and header line stay valid after the owner's free");
  ae_secret_free(r); /* the last reference wipes and unmaps (valgrind/ASan check the rest) */
  CHECK(ae_secret_ref(NULL) == NULL, "ref(NULL) is NULL");
}

int main(void) {
  test_with_prefix();
  test_ref_and_header();
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_new();
  test_kind();
  test_hint();
  test_files();
  test_command_ok();
  test_command_errors();
  test_command_timeout();
  test_command_stderr();
  test_command_fds();
  test_dotenv();
  test_scrub();
  cleanup();
  return CHECK_DONE();
}
