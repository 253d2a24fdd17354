/* secret.h - API keys in C memory: locked where possible, wiped on free, never printed.
 * Pure C (no Lua headers). Every error message written by these functions is free of key
 * bytes. Error buffers: callers pass char err[AE_ERRLEN]. */
#ifndef AE_SECRET_H
#define AE_SECRET_H

#include <stddef.h>

#define AE_ERRLEN 512
#define AE_SECRET_MAX 4096 /* longest key accepted, in bytes */

typedef struct ae_secret ae_secret;

enum { AE_KEY_API = 0, AE_KEY_ADMIN = 1 };  /* sk-ant-admin... is ADMIN, anything else API */

/* Copy len bytes into fresh locked memory, trim surrounding whitespace, validate (not empty,
 * no inner whitespace or control bytes, at most AE_SECRET_MAX). NULL on error with err set
 * (the message names the problem and a 1-based position after trimming, never the bytes).
 * The caller wipes its own copy. */
ae_secret *ae_secret_new(const char *bytes, size_t len, char *err, size_t errlen);

/* Drop a reference; the last one wipes (explicit_bzero-style, not optimised away), munlocks
 * and frees the key and its cached header lines. NULL is fine. */
void ae_secret_free(ae_secret *s);

/* Another reference to the same key (single-threaded: one Lua state owns it), so a transfer
 * keeps the key and its header line alive however long the key's owner lives. Returns s. */
ae_secret *ae_secret_ref(ae_secret *s);

/* The key's "x-api-key: KEY" line (bearer: "Authorization: Bearer KEY"), made on first use and
 * kept with the key in the same vault memory, so a request costs no vault allocation.
 * NULL when out of memory. */
const char *ae_secret_header(ae_secret *s, int bearer);

/* A copy of the key with `prefix` in front (e.g. an "x-api-key: " header line), in the same
 * locked, non-dumped, wiped memory, with the key's kind; "" makes a plain copy. NULL when out of
 * memory. No validation: the prefix may hold spaces. */
ae_secret *ae_secret_with_prefix(const ae_secret *s, const char *prefix);

/* The bytes (NUL-terminated) and their length. */
const char *ae_secret_bytes(const ae_secret *s, size_t *len);
int ae_secret_kind(const ae_secret *s);

/* A hint like the Console's: first 16 bytes, "...", last 4 bytes ("sk-ant-api03-R2D...igAA").
 * Keys of 24 bytes or fewer show only "...", plus their last 2 bytes when >= 12 bytes long. */
void ae_secret_hint(const ae_secret *s, char *out, size_t outlen);

/* Read a key file. Refuses (returns NULL, err set) a file readable by group or others
 * ("... is readable by group/others (mode 0644); run: chmod 600 PATH"), a missing or
 * unreadable file, a directory, an empty file, or one over AE_SECRET_MAX bytes. The first
 * non-empty line is the key. The read buffer is wiped. */
ae_secret *ae_secret_from_file(const char *path, char *err, size_t errlen);

/* Run argv[0] (PATH lookup, no shell) with stdin from /dev/null and stderr inherited (never
 * captured); the first non-blank line of stdout (at most AE_SECRET_MAX
 * bytes in all) is the key, as `pass show` prints the password first. Kills the child (SIGKILL) and
 * fails after timeout_s seconds. Fails on a non-zero exit ("exited with status N"), a signal,
 * exec failure ("cannot run NAME: reason"), or empty output. Buffers are wiped.
 * A timeout_s <= 0 (or NaN) means no time limit. */
ae_secret *ae_secret_from_command(char *const argv[], double timeout_s, char *err, size_t errlen);

/* Look up `name` in a .env file (uses dotenv.h). Returns NULL with err[0] == 0 when the file
 * or the name is absent; NULL with err set on a syntax error (file and line, no values) or a
 * file readable by group/others (same rule as key files). */
ae_secret *ae_secret_from_dotenv(const char *path, const char *name, char *err, size_t errlen);

/* Copy `in` to `out` (NUL-terminated, truncated to outlen) replacing every occurrence of the
 * key's bytes (when s != NULL), of any piece of 17 or more bytes of it in a row, of a prefix of
 * 8 or more bytes that `in` ends with, and of any token starting with "sk-ant-" (up to the next
 * byte outside [A-Za-z0-9_-]) with "[redacted]". Returns the length written. */
size_t ae_scrub(const char *in, const ae_secret *s, char *out, size_t outlen);

#endif
