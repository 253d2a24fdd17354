/* dotenv.h - a pure-C .env parser (no Lua headers).
 * Syntax: `NAME=value` lines; blank lines and `#` comments; an optional `export ` prefix;
 * unquoted values end at ` #` or end of line and are trimmed; 'single quotes' are literal;
 * "double quotes" take escapes \n \r \t \" \\ \$ and may span lines; CRLF and CR line ends.
 * An unknown escape keeps its backslash ("\a" stays \a); line breaks inside double quotes
 * become "\n"; no ${VAR} expansion; a UTF-8 BOM at the start is skipped. Names are
 * [A-Za-z_][A-Za-z0-9_]*. */
#ifndef AE_DOTENV_H
#define AE_DOTENV_H

#include <stddef.h>

/* Called once per assignment; `name` and `value` are not NUL-terminated. `value` is only
 * valid during the call; a double-quoted value (decoded into scratch memory) is wiped after
 * it, the others point into buf. Return non-zero to stop parsing early (then 1 is returned). */
typedef int (*ae_dotenv_cb)(const char *name, size_t name_len, const char *value,
                            size_t value_len, void *ud);

/* Returns 0 when the whole buffer parsed, 1 when the callback stopped it, -1 on a syntax error
 * or out of memory (then *err_line is the 1-based line and *err_msg a static description that
 * never holds a value; either pointer may be NULL). */
int ae_dotenv_parse(const char *buf, size_t len, ae_dotenv_cb cb, void *ud, int *err_line,
                    const char **err_msg);

#endif
