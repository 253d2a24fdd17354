/* dotenv.h - a pure-C .env parser (no Lua headers).
 * Syntax: `NAME=value` lines; blank lines and `#` comments; an optional `export ` prefix;
 * unquoted values end at ` #` or end of line and are trimmed; 'single quotes' are literal;
 * "double quotes" take escapes \n \r \t \" \\ \$ and may span lines; CRLF and CR line ends. */
#ifndef AE_DOTENV_H
#define AE_DOTENV_H

#include <stddef.h>

/* Called once per assignment. `value` is only valid during the call and is wiped after it
 * (values may be secrets). Return non-zero to stop parsing early (ae_dotenv_parse returns 1). */
typedef int (*ae_dotenv_cb)(const char *name, size_t name_len, const char *value,
                            size_t value_len, void *ud);

/* Returns 0 when the whole buffer parsed, 1 when the callback stopped it, -1 on a syntax error
 * (then *err_line is the 1-based line and *err_msg a static description). */
int ae_dotenv_parse(const char *buf, size_t len, ae_dotenv_cb cb, void *ud, int *err_line,
                    const char **err_msg);

#endif
