/* dotenv.c - a pure-C .env parser (syntax in dotenv.h).
 * Details the header leaves open:
 * - names are [A-Za-z_][A-Za-z0-9_]*; `name` and `value` passed to the callback are not
 *   NUL-terminated (use the lengths);
 * - in "double quotes" an unknown escape such as \a keeps both bytes ("\a" stays "\a"), like
 *   a backslash before a line break; line breaks inside the quotes (LF, CRLF or CR) become
 *   "\n"; there is no ${VAR} expansion;
 * - `#` starts a comment after an unquoted value only when a space or tab precedes it
 *   (`A=b#c` is "b#c"); after a closing quote it may follow directly;
 * - an unterminated double quote is reported at the line where the quote opened.
 * Unquoted and single-quoted values point into the caller's buffer; double-quoted values are
 * decoded into a scratch buffer that is wiped after each callback and before it is freed. */
#include "dotenv.h"
#include "platform.h"

#include <stdlib.h>
#include <string.h>

typedef struct Parser {
  const char *p, *end; /* next byte; end of the buffer */
  int line;            /* 1-based line of p */
  char *scratch;       /* decoded double-quoted value (allocated at first use) */
  size_t cap;          /* its size */
  int err_line;
  const char *err_msg;
} Parser;

static int is_blank(char c) { return c == ' ' || c == '\t'; }
static int is_alpha_(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_namec(char c) { return is_alpha_(c) || (c >= '0' && c <= '9'); }

/* Length of the line break at q: 1 for LF or a lone CR, 2 for CRLF, 0 for none. */
static size_t eol_len(const Parser *P, const char *q) {
  if (q >= P->end) return 0;
  if (*q == '\n') return 1;
  if (*q == '\r') return (q + 1 < P->end && q[1] == '\n') ? 2 : 1;
  return 0;
}

static int at_eol(const Parser *P) { return P->p >= P->end || eol_len(P, P->p) > 0; }

static void skip_blanks(Parser *P) {
  while (P->p < P->end && is_blank(*P->p)) P->p++;
}

/* Move past the rest of the line and its line break. */
static void next_line(Parser *P) {
  while (!at_eol(P)) P->p++;
  if (P->p < P->end) {
    P->p += eol_len(P, P->p);
    P->line++;
  }
}

static int fail(Parser *P, int line, const char *msg) {
  P->err_line = line;
  P->err_msg = msg;
  return -1;
}

/* Does the rest of the line from q hold an '='? Picks the clearer of two messages. */
static int line_has_eq(const Parser *P, const char *q) {
  for (; q < P->end && !eol_len(P, q); q++)
    if (*q == '=') return 1;
  return 0;
}

/* `export NAME=...`: skip the prefix only when a name follows, so `export=1` and
 * `export = 1` still assign a variable called export. */
static void skip_export(Parser *P) {
  const char *q = P->p + 6;
  if (P->end - P->p <= 6 || memcmp(P->p, "export", 6) != 0 || !is_blank(*q)) return;
  while (q < P->end && is_blank(*q)) q++;
  if (q < P->end && is_alpha_(*q)) P->p = q;
}

/* NAME, blanks, '=' and the blanks after it. */
static int read_name(Parser *P, const char **name, size_t *len) {
  const char *start = P->p;
  skip_export(P);
  *name = P->p;
  if (P->p < P->end && is_alpha_(*P->p))
    while (P->p < P->end && is_namec(*P->p)) P->p++;
  *len = (size_t)(P->p - *name);
  skip_blanks(P);
  if (*len > 0 && P->p < P->end && *P->p == '=') {
    P->p++;
    return 0;
  }
  if (!line_has_eq(P, start)) return fail(P, P->line, "line has no '=' (expected NAME=value)");
  return fail(P, P->line, "invalid variable name (use letters, digits and _, not starting with a digit)");
}

/* After a closing quote: blanks, then a comment or the end of the line. */
static int end_of_quoted(Parser *P) {
  skip_blanks(P);
  if (!at_eol(P) && *P->p != '#')
    return fail(P, P->line, "unexpected text after the closing quote");
  next_line(P);
  return 0;
}

/* Ends at a `#` that follows a blank (`from` is just past the '=') or at the line end;
 * trailing blanks are trimmed. */
static void read_unquoted(Parser *P, const char *from, const char **v, size_t *n) {
  const char *s = P->p, *e;
  while (!at_eol(P) && !(*P->p == '#' && P->p > from && is_blank(P->p[-1]))) P->p++;
  e = P->p;
  while (e > s && is_blank(e[-1])) e--;
  *v = s;
  *n = (size_t)(e - s);
  next_line(P);
}

static int read_single(Parser *P, const char **v, size_t *n) {
  const char *s = ++P->p;
  while (!at_eol(P) && *P->p != '\'') P->p++;
  if (at_eol(P)) return fail(P, P->line, "unterminated single quote");
  *v = s;
  *n = (size_t)(P->p++ - s);
  return end_of_quoted(P);
}

/* The byte an escape stands for, or 0 when unknown (then the backslash is kept). */
static char unescape(char c) {
  switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case '"': case '\\': case '$': return c;
    default: return 0;
  }
}

static int read_double(Parser *P, const char **v, size_t *n) {
  int line0 = P->line;
  size_t k = 0, m;
  char c;
  if (!P->scratch) { /* the rest of the buffer bounds every later value too */
    P->cap = (size_t)(P->end - P->p);
    if (!(P->scratch = malloc(P->cap))) return fail(P, line0, "out of memory");
  }
  for (P->p++;; ) {
    if (P->p >= P->end) return fail(P, line0, "unterminated double quote");
    c = *P->p;
    if (c == '"') break;
    if ((m = eol_len(P, P->p)) > 0) { /* a line break in the value: normalised to LF */
      P->scratch[k++] = '\n';
      P->p += m;
      P->line++;
    } else if (c == '\\' && P->p + 1 < P->end && unescape(P->p[1])) {
      P->scratch[k++] = unescape(P->p[1]);
      P->p += 2;
    } else if (c == '\\' && P->p + 1 < P->end && P->p[1] != '\r' && P->p[1] != '\n') {
      P->scratch[k++] = '\\'; /* unknown escape: both bytes stay */
      P->scratch[k++] = P->p[1];
      P->p += 2;
    } else {
      P->scratch[k++] = c; /* also a backslash before a line break or at the end */
      P->p++;
    }
  }
  P->p++;
  *v = P->scratch;
  *n = k;
  return end_of_quoted(P);
}

/* One line (or several for a multi-line value): 0 to go on, 1 stopped, -1 error. */
static int parse_line(Parser *P, ae_dotenv_cb cb, void *ud) {
  const char *name, *value, *from;
  size_t nlen, vlen;
  int r;
  skip_blanks(P);
  if (at_eol(P) || *P->p == '#') {
    next_line(P);
    return 0;
  }
  if (read_name(P, &name, &nlen) < 0) return -1;
  from = P->p;
  skip_blanks(P);
  if (P->p < P->end && *P->p == '\'') r = read_single(P, &value, &vlen);
  else if (P->p < P->end && *P->p == '"') r = read_double(P, &value, &vlen);
  else r = (read_unquoted(P, from, &value, &vlen), 0);
  if (r < 0) return -1;
  r = cb(name, nlen, value, vlen, ud) != 0;
  if (value == P->scratch) ae_wipe(P->scratch, vlen); /* may be a secret */
  return r;
}

int ae_dotenv_parse(const char *buf, size_t len, ae_dotenv_cb cb, void *ud, int *err_line,
                    const char **err_msg) {
  Parser P = {buf, buf, 1, NULL, 0, 0, NULL};
  int r = 0;
  if (len == 0) return 0; /* also keeps NULL + 0 out of the pointer arithmetic */
  P.end = buf + len;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) P.p += 3; /* UTF-8 BOM */
  while (r == 0 && P.p < P.end) r = parse_line(&P, cb, ud);
  if (P.scratch) { /* an error may leave part of a value behind */
    ae_wipe(P.scratch, P.cap);
    free(P.scratch);
  }
  if (r < 0) {
    if (err_line) *err_line = P.err_line;
    if (err_msg) *err_msg = P.err_msg;
  }
  return r;
}
