/* secret.c - API keys in locked, non-dumped memory that is wiped on free (see secret.h).
 * Key bytes only ever live in "vault" pages: ae_secret itself and the read buffers of key
 * files, key commands and .env files. Error messages carry names, paths, positions and
 * counts, never bytes read from a key source. */
#include "secret.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dotenv.h"

#define DOTENV_MAX (1024 * 1024) /* larger .env files are refused */

struct ae_secret {
  size_t maplen;        /* bytes mapped, this header included */
  size_t len;
  int kind;
  int refs;             /* ae_secret_ref; the last ae_secret_free wipes */
  ae_secret *lines[2];  /* cached header lines (ae_secret_header), owned by this secret */
  char bytes[];         /* len bytes and a NUL */
};

/* ---------- errors ---------- */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  if (!err || errlen == 0) return;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

static void clear_err(char *err, size_t errlen) {
  if (err && errlen > 0) err[0] = 0;
}

/* ---------- vault memory ---------- */

/* Page-aligned anonymous pages: mlock keeps them out of swap, MADV_DONTDUMP out of core
 * files. Both are best effort (RLIMIT_MEMLOCK may be tiny); the wipe on free is not. */
static void *vault_alloc(size_t size, size_t *maplen) {
  long pg = sysconf(_SC_PAGESIZE);
  size_t page = pg > 0 ? (size_t)pg : 4096;
  size_t n = (size + page - 1) / page * page;
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  (void)mlock(p, n);
#ifdef MADV_DONTDUMP
  (void)madvise(p, n, MADV_DONTDUMP);
#endif
  *maplen = n;
  return p;
}

static void vault_free(void *p, size_t maplen) {
  if (!p) return;
  ae_wipe(p, maplen);
  (void)munlock(p, maplen);
  (void)munmap(p, maplen);
}

/* ---------- the key itself ---------- */

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_ctrl(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* Positions in messages are 1-based and counted after trimming. */
static int valid_key(const char *k, size_t n, char *err, size_t errlen) {
  if (n == 0) {
    set_err(err, errlen, "the key is empty");
    return 0;
  }
  if (n > AE_SECRET_MAX) {
    set_err(err, errlen, "the key is too long (%zu bytes; at most %d)", n, AE_SECRET_MAX);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (is_space((unsigned char)k[i])) {
      set_err(err, errlen,
              "the key contains whitespace at byte %zu; check for a pasted line break or space",
              i + 1);
      return 0;
    }
    if (is_ctrl((unsigned char)k[i])) {
      set_err(err, errlen,
              "the key contains a control byte at byte %zu; check for a pasted escape sequence",
              i + 1);
      return 0;
    }
  }
  return 1;
}

ae_secret *ae_secret_new(const char *bytes, size_t len, char *err, size_t errlen) {
  ae_secret *s;
  size_t maplen;
  clear_err(err, errlen);
  if (!bytes) len = 0;
  while (len > 0 && is_space((unsigned char)bytes[0])) bytes++, len--;
  while (len > 0 && is_space((unsigned char)bytes[len - 1])) len--;
  if (!valid_key(bytes, len, err, errlen)) return NULL;
  s = vault_alloc(sizeof *s + len + 1, &maplen);
  if (!s) {
    set_err(err, errlen, "cannot allocate memory for the key: %s", strerror(errno));
    return NULL;
  }
  s->maplen = maplen;
  s->len = len;
  s->refs = 1;
  s->lines[0] = s->lines[1] = NULL;
  memcpy(s->bytes, bytes, len);
  s->bytes[len] = 0;
  s->kind = (len >= 12 && memcmp(s->bytes, "sk-ant-admin", 12) == 0) ? AE_KEY_ADMIN : AE_KEY_API;
  return s;
}

void ae_secret_free(ae_secret *s) {
  if (!s || --s->refs > 0) return;
  ae_secret_free(s->lines[0]);
  ae_secret_free(s->lines[1]);
  vault_free(s, s->maplen);
}

ae_secret *ae_secret_ref(ae_secret *s) {
  if (s) s->refs++;
  return s;
}

const char *ae_secret_header(ae_secret *s, int bearer) {
  ae_secret **line = &s->lines[bearer ? 1 : 0];
  if (!*line) *line = ae_secret_with_prefix(s, bearer ? "Authorization: Bearer " : "x-api-key: ");
  return *line ? (*line)->bytes : NULL;
}

ae_secret *ae_secret_with_prefix(const ae_secret *s, const char *prefix) {
  size_t plen = strlen(prefix), maplen;
  ae_secret *d = vault_alloc(sizeof *d + plen + s->len + 1, &maplen);
  if (!d) return NULL;
  d->maplen = maplen;
  d->len = plen + s->len;
  d->kind = s->kind;
  d->refs = 1;
  d->lines[0] = d->lines[1] = NULL;
  memcpy(d->bytes, prefix, plen);
  memcpy(d->bytes + plen, s->bytes, s->len);
  d->bytes[d->len] = 0;
  return d;
}

const char *ae_secret_bytes(const ae_secret *s, size_t *len) {
  if (len) *len = s ? s->len : 0;
  return s ? s->bytes : NULL;
}

int ae_secret_kind(const ae_secret *s) { return s ? s->kind : AE_KEY_API; }

void ae_secret_hint(const ae_secret *s, char *out, size_t outlen) {
  size_t n = s ? s->len : 0;
  if (!out || outlen == 0) return;
  if (n > 24)
    snprintf(out, outlen, "%.16s...%s", s->bytes, s->bytes + n - 4);
  else if (n >= 12)
    snprintf(out, outlen, "...%s", s->bytes + n - 2);
  else
    snprintf(out, outlen, "...");
}

/* ---------- files ---------- */

/* Read until EOF or cap bytes; -1 on a read error (errno set). */
static long read_all(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    n += (size_t)r;
  }
  return (long)n;
}

/* A key source must not be a directory nor readable by group or others (as ssh does). */
static int check_file(int fd, const char *what, const char *path, struct stat *st, char *err,
                      size_t errlen) {
  if (fstat(fd, st) < 0) {
    set_err(err, errlen, "cannot stat %s %s: %s", what, path, strerror(errno));
    return 0;
  }
  if (S_ISDIR(st->st_mode)) {
    set_err(err, errlen, "%s %s is a directory", what, path);
    return 0;
  }
  if (st->st_mode & 044) {
    set_err(err, errlen, "%s %s is readable by group/others (mode %04o); run: chmod 600 %s", what,
            path, (unsigned)(st->st_mode & 07777), path);
    return 0;
  }
  return 1;
}

static int is_blank_line(const char *b, size_t n) {
  while (n > 0 && is_space((unsigned char)*b)) b++, n--;
  return n == 0;
}

/* The first line of b that is not blank; *n = 0 when there is none. */
static const char *first_line(const char *b, size_t len, size_t *n) {
  size_t i = 0, j;
  while (i < len) {
    for (j = i; j < len && b[j] != '\n' && b[j] != '\r'; j++) continue;
    if (!is_blank_line(b + i, j - i)) {
      *n = j - i;
      return b + i;
    }
    i = j + 1;
  }
  *n = 0;
  return b;
}

/* ae_secret_new with the message prefixed by "<what> <name>: ". */
static ae_secret *new_from(const char *b, size_t n, const char *what, const char *name, char *err,
                           size_t errlen) {
  char msg[AE_ERRLEN];
  ae_secret *s = ae_secret_new(b, n, msg, sizeof msg);
  if (!s) set_err(err, errlen, "%s %s: %s", what, name, msg);
  return s;
}

static ae_secret *key_from_fd(int fd, const char *path, char *err, size_t errlen) {
  struct stat st;
  size_t maplen, n;
  long got;
  const char *line;
  char *buf;
  ae_secret *s = NULL;
  if (!check_file(fd, "key file", path, &st, err, errlen)) return NULL;
  if (!(buf = vault_alloc(AE_SECRET_MAX + 1, &maplen))) {
    set_err(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
    return NULL;
  }
  got = read_all(fd, buf, AE_SECRET_MAX + 1);
  line = first_line(buf, got > 0 ? (size_t)got : 0, &n);
  if (got < 0)
    set_err(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
  else if (got > AE_SECRET_MAX)
    set_err(err, errlen, "key file %s is larger than %d bytes", path, AE_SECRET_MAX);
  else if (n == 0)
    set_err(err, errlen, "key file %s is empty", path);
  else
    s = new_from(line, n, "key file", path, err, errlen);
  vault_free(buf, maplen);
  return s;
}

ae_secret *ae_secret_from_file(const char *path, char *err, size_t errlen) {
  ae_secret *s;
  int fd;
  clear_err(err, errlen);
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    set_err(err, errlen, "cannot open key file %s: %s", path, strerror(errno));
    return NULL;
  }
  s = key_from_fd(fd, path, err, errlen);
  close(fd);
  return s;
}

/* ---------- key commands ---------- */

enum { OUT_EOF, OUT_TIMEOUT, OUT_TOO_BIG, OUT_ERROR };

typedef struct Run {
  const char *name; /* argv[0], for messages */
  double timeout;   /* seconds; <= 0 or NaN: no limit */
  double deadline;  /* CLOCK_MONOTONIC seconds; < 0: none */
  int out;          /* OUT_* */
  int reaped;       /* 0 reaped, 1 timed out (then killed), -1 waitpid failed */
  int status;       /* from waitpid */
  int e;            /* errno of a failed read or waitpid */
  size_t n;         /* bytes of output */
} Run;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A poll() timeout: -1 without a deadline, 0 once it has passed, else rounded up so the
 * loops never spin before it. */
static int ms_left(double deadline) {
  double ms;
  if (deadline < 0) return -1;
  ms = (deadline - now_s()) * 1000.0;
  if (ms <= 0) return 0;
  return ms >= 60000.0 ? 60000 : (int)ms + 1;
}

/* A CLOEXEC pipe with both ends >= 3, so that the child's dup2 onto 0 and 1 cannot clobber
 * them when the host runs with stdin or stdout closed. */
static int make_pipe(int fds[2]) {
  int e = 0;
  if (ae_pipe(fds, 0) < 0) return -1;
  for (int i = 0; i < 2; i++) {
    if (fds[i] < 3) {
      int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
      if (fd < 0) e = errno;
      close(fds[i]);
      fds[i] = fd;
    }
  }
  if (fds[0] >= 0 && fds[1] >= 0) return 0;
  if (fds[0] >= 0) close(fds[0]);
  if (fds[1] >= 0) close(fds[1]);
  errno = e;
  return -1;
}

static pid_t wait_pid(pid_t pid, int *status, int flags) {
  pid_t r;
  do r = waitpid(pid, status, flags);
  while (r < 0 && errno == EINTR);
  return r;
}

/* In the child: stdin from /dev/null, stdout into the pipe, stderr inherited. Only
 * async-signal-safe calls before exec; an exec failure goes back as an errno through the
 * CLOEXEC pipe, which exec closes on success. */
static _Noreturn void run_child(char *const argv[], int out_w, int err_w) {
  sigset_t none;
  int e, fd = open("/dev/null", O_RDONLY);
  if (fd < 0 || (fd != 0 && dup2(fd, 0) < 0) || dup2(out_w, 1) < 0) goto fail;
  if (fd > 2) close(fd);
  signal(SIGPIPE, SIG_DFL); /* an ignored SIGPIPE (common in hosts) would survive exec */
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
#ifdef CLOSE_RANGE_CLOEXEC
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); /* the host's sockets and files stay behind */
#endif
  execvp(argv[0], argv);
fail:
  e = errno;
  while (write(err_w, &e, sizeof e) < 0 && errno == EINTR) continue;
  _exit(127);
}

/* Fork and exec; on success *pid is the child and *out the read end of its stdout. */
static int spawn(char *const argv[], pid_t *pid, int *out, char *err, size_t errlen) {
  int o[2], x[2], e;
  ssize_t r;
  if (make_pipe(o) < 0) {
    set_err(err, errlen, "cannot run key command %s: pipe: %s", argv[0], strerror(errno));
    return -1;
  }
  if (make_pipe(x) < 0) {
    e = errno;
    close(o[0]);
    close(o[1]);
    set_err(err, errlen, "cannot run key command %s: pipe: %s", argv[0], strerror(e));
    return -1;
  }
  *pid = fork();
  if (*pid == 0) run_child(argv, o[1], x[1]);
  e = errno;
  close(o[1]);
  close(x[1]);
  if (*pid < 0) {
    close(o[0]);
    close(x[0]);
    set_err(err, errlen, "cannot run key command %s: fork: %s", argv[0], strerror(e));
    return -1;
  }
  do r = read(x[0], &e, sizeof e);
  while (r < 0 && errno == EINTR);
  close(x[0]);
  if (r == (ssize_t)sizeof e) { /* exec failed; the child has exited */
    close(o[0]);
    wait_pid(*pid, NULL, 0);
    set_err(err, errlen, "cannot run key command %s: %s", argv[0], strerror(e));
    return -1;
  }
  *out = o[0];
  return 0;
}

/* Read stdout until EOF, the deadline, or more than cap - 1 bytes. */
static void read_output(int fd, char *buf, size_t cap, Run *R) {
  struct pollfd pfd = {fd, POLLIN, 0};
  R->n = 0;
  for (;;) {
    int ms = ms_left(R->deadline), pr;
    ssize_t r;
    if (ms == 0) { R->out = OUT_TIMEOUT; return; }
    pr = poll(&pfd, 1, ms);
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    r = read(fd, buf + R->n, cap - R->n);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) break;
    if (r == 0) { R->out = OUT_EOF; return; }
    if ((R->n += (size_t)r) == cap) { R->out = OUT_TOO_BIG; return; }
  }
  R->e = errno;
  R->out = OUT_ERROR;
}

/* Wait for the child until the deadline: it may close stdout and keep running. */
static void reap(pid_t pid, Run *R) {
  struct timespec nap = {0, 1000000};
  if (R->deadline < 0) {
    R->reaped = wait_pid(pid, &R->status, 0) == pid ? 0 : -1;
  } else {
    for (;;) {
      pid_t r = wait_pid(pid, &R->status, WNOHANG);
      if (r != 0) { R->reaped = r == pid ? 0 : -1; break; }
      if (ms_left(R->deadline) == 0) { R->reaped = 1; break; }
      nanosleep(&nap, NULL);
      if (nap.tv_nsec < 16000000) nap.tv_nsec *= 2;
    }
  }
  if (R->reaped < 0) R->e = errno; /* ECHILD when the host ignores SIGCHLD */
}

/* The outcome as a secret or a message; the output is read but never quoted. */
static ae_secret *command_result(const Run *R, const char *buf, char *err, size_t errlen) {
  const char *name = R->name;
  if (R->out == OUT_TIMEOUT || R->reaped == 1)
    set_err(err, errlen, "key command %s timed out after %gs", name, R->timeout);
  else if (R->out == OUT_TOO_BIG)
    set_err(err, errlen, "key command %s printed more than %d bytes", name, AE_SECRET_MAX);
  else if (R->out == OUT_ERROR)
    set_err(err, errlen, "cannot read the output of key command %s: %s", name, strerror(R->e));
  else if (R->reaped < 0)
    set_err(err, errlen, "cannot get the exit status of key command %s: %s", name, strerror(R->e));
  else if (WIFSIGNALED(R->status))
    set_err(err, errlen, "key command %s was killed by signal %d", name, WTERMSIG(R->status));
  else if (WEXITSTATUS(R->status) != 0)
    set_err(err, errlen, "key command %s exited with status %d", name, WEXITSTATUS(R->status));
  else if (is_blank_line(buf, R->n))
    set_err(err, errlen, "key command %s printed nothing", name);
  else { /* the first non-blank line, as `pass show` prints the password first */
    size_t n;
    const char *line = first_line(buf, R->n, &n);
    return new_from(line, n, "key command", name, err, errlen);
  }
  return NULL;
}

ae_secret *ae_secret_from_command(char *const argv[], double timeout_s, char *err,
                                  size_t errlen) {
  Run R = {NULL, timeout_s, -1, OUT_ERROR, -1, 0, 0, 0};
  ae_secret *s;
  size_t maplen;
  pid_t pid;
  char *buf;
  int fd;
  clear_err(err, errlen);
  if (!argv || !argv[0] || !argv[0][0]) {
    set_err(err, errlen, "the key command is empty");
    return NULL;
  }
  R.name = argv[0];
  if (timeout_s > 0) R.deadline = now_s() + timeout_s; /* NaN is not > 0 either */
  if (!(buf = vault_alloc(AE_SECRET_MAX + 1, &maplen))) {
    set_err(err, errlen, "cannot run key command %s: %s", argv[0], strerror(errno));
    return NULL;
  }
  if (spawn(argv, &pid, &fd, err, errlen) < 0) {
    vault_free(buf, maplen);
    return NULL;
  }
  read_output(fd, buf, AE_SECRET_MAX + 1, &R);
  close(fd);
  if (R.out == OUT_EOF) reap(pid, &R);
  if (R.out != OUT_EOF || R.reaped == 1) { /* never leave it running, nor a zombie */
    kill(pid, SIGKILL);
    wait_pid(pid, NULL, 0);
  }
  s = command_result(&R, buf, err, errlen);
  vault_free(buf, maplen);
  return s;
}

/* ---------- .env files ---------- */

typedef struct Lookup {
  const char *name;
  size_t nlen;
  int found;
  ae_secret *s;         /* from the last assignment seen */
  char msg[AE_ERRLEN];  /* why that assignment is not a valid key */
} Lookup;

static int lookup_cb(const char *name, size_t nlen, const char *value, size_t vlen, void *ud) {
  Lookup *L = ud;
  if (nlen != L->nlen || memcmp(name, L->name, nlen) != 0) return 0;
  ae_secret_free(L->s); /* the last assignment wins */
  L->found = 1;
  L->s = ae_secret_new(value, vlen, L->msg, sizeof L->msg);
  return 0;
}

static ae_secret *lookup_buf(const char *buf, size_t len, const char *path, Lookup *L, char *err,
                             size_t errlen) {
  const char *msg = "syntax error";
  int line = 0;
  if (ae_dotenv_parse(buf, len, lookup_cb, L, &line, &msg) < 0) {
    ae_secret_free(L->s);
    set_err(err, errlen, "%s:%d: %s", path, line, msg);
    return NULL;
  }
  if (L->found && !L->s) set_err(err, errlen, "%s: %s: %s", path, L->name, L->msg);
  return L->s;
}

static ae_secret *dotenv_from_fd(int fd, const char *path, Lookup *L, char *err, size_t errlen) {
  struct stat st;
  size_t maplen, cap;
  ae_secret *s = NULL;
  char *buf;
  long got;
  if (!check_file(fd, "dotenv file", path, &st, err, errlen)) return NULL;
  if (S_ISREG(st.st_mode) && st.st_size > DOTENV_MAX) {
    set_err(err, errlen, "dotenv file %s is larger than %d bytes", path, DOTENV_MAX);
    return NULL;
  }
  cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : DOTENV_MAX + 1;
  if (!(buf = vault_alloc(cap, &maplen))) {
    set_err(err, errlen, "cannot read dotenv file %s: %s", path, strerror(errno));
    return NULL;
  }
  got = read_all(fd, buf, cap);
  if (got < 0)
    set_err(err, errlen, "cannot read dotenv file %s: %s", path, strerror(errno));
  else if ((size_t)got == cap && S_ISREG(st.st_mode))
    set_err(err, errlen, "dotenv file %s changed while it was read", path);
  else if ((size_t)got == cap)
    set_err(err, errlen, "dotenv file %s is larger than %d bytes", path, DOTENV_MAX);
  else
    s = lookup_buf(buf, (size_t)got, path, L, err, errlen);
  vault_free(buf, maplen);
  return s;
}

ae_secret *ae_secret_from_dotenv(const char *path, const char *name, char *err, size_t errlen) {
  Lookup L;
  ae_secret *s;
  int fd;
  clear_err(err, errlen);
  if (!path || !name) return NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno != ENOENT && errno != ENOTDIR)
      set_err(err, errlen, "cannot open dotenv file %s: %s", path, strerror(errno));
    return NULL; /* a missing file is not an error: the name is simply absent */
  }
  memset(&L, 0, sizeof L);
  L.name = name;
  L.nlen = strlen(name);
  s = dotenv_from_fd(fd, path, &L, err, errlen);
  close(fd);
  return s;
}

/* ---------- scrubbing ---------- */

static const char REDACTED[] = "[redacted]";

static int is_token_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

/* Bytes of the key matched at p, 0 for none. The key holds no NUL, so the compare stops at
 * p's NUL. A prefix of 8 or more bytes that runs into that NUL counts as a match: the text
 * may have been truncated in the middle of the key. */
static size_t key_at(const char *p, const ae_secret *s) {
  size_t i = 0;
  if (!s) return 0;
  while (i < s->len && p[i] == s->bytes[i]) i++;
  return (i == s->len || (p[i] == '\0' && i >= 8)) ? i : 0;
}

static size_t token_at(const char *p) {
  size_t i = 7;
  if (strncmp(p, "sk-ant-", 7) != 0) return 0;
  while (is_token_byte(p[i])) i++;
  return i;
}

/* Length of s[0..n) without a UTF-8 sequence cut short at its end. */
static size_t utf8_whole(const char *s, size_t n) {
  size_t i = n, need;
  unsigned char c;
  while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
  if (i == 0) return n;
  c = (unsigned char)s[i - 1];
  need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return (need > 1 && n - (i - 1) < need) ? i - 1 : n;
}

/* A piece of the key: AE_SCRUB_PIECE bytes or more of it in a row, found anywhere in the text
 * (a key split by markup or a line break, or cut at its start, as echoed text may be). One byte
 * more than a hint shows of the key's start, so a hint is never mistaken for a piece. The index
 * lists, for each byte value, where the key holds it: head[c] is the first position + 1, next[i]
 * the position after i + 1 (0 ends a list). It describes the key, so it is wiped after use. */
#define AE_SCRUB_PIECE 17

typedef struct {
  unsigned short head[256];
  unsigned short next[AE_SECRET_MAX];
} piece_index;

static int piece_index_build(piece_index *ix, const ae_secret *s) {
  size_t i;
  if (!s || s->len < AE_SCRUB_PIECE || s->len > AE_SECRET_MAX) return 0;
  memset(ix->head, 0, sizeof ix->head);
  for (i = s->len; i-- > 0;) {
    unsigned char c = (unsigned char)s->bytes[i];
    ix->next[i] = ix->head[c];
    ix->head[c] = (unsigned short)(i + 1);
  }
  return 1;
}

/* The longest piece of the key at p (0 for none). Stops at p's NUL: the key holds none. */
static size_t piece_at(const char *p, const ae_secret *s, const piece_index *ix) {
  size_t best = 0, j, i;
  for (j = ix->head[(unsigned char)*p]; j; j = ix->next[j - 1]) {
    const char *k = s->bytes + j - 1;
    size_t room = s->len - (j - 1);
    for (i = 0; i < room && p[i] == k[i]; i++) {}
    if (i >= AE_SCRUB_PIECE && i > best) best = i;
  }
  return best;
}

size_t ae_scrub(const char *in, const ae_secret *s, char *out, size_t outlen) {
  size_t n = 0, k, t;
  piece_index ix;
  int pieces;
  if (!out || outlen == 0) return 0;
  if (!in) in = "";
  pieces = piece_index_build(&ix, s);
  while (*in) {
    k = key_at(in, s);
    t = token_at(in);
    if (t > k) k = t; /* the longer match: "sk-ant-KEYmore" hides "more" too */
    if (pieces && (t = piece_at(in, s, &ix)) > k) k = t;
    if (k > 0) {
      if (n + sizeof REDACTED - 1 >= outlen) break; /* all of "[redacted]" or nothing */
      memcpy(out + n, REDACTED, sizeof REDACTED - 1);
      n += sizeof REDACTED - 1;
      in += k;
    } else {
      if (n + 1 >= outlen) break;
      out[n++] = *in++;
    }
  }
  if (pieces) {
    ae_wipe(ix.head, sizeof ix.head);
    ae_wipe(ix.next, s->len * sizeof ix.next[0]);
  }
  if (*in) n = utf8_whole(out, n); /* truncated: no half characters at the end */
  out[n] = 0;
  return n;
}
