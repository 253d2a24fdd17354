/* jtext.h - a tiny, strict reader for the one stream event that matters for speed: a text delta.
 * Pure C: no Lua or curl headers, so it is unit-tested and fuzzed alone.
 *
 * ae_text_delta recognises the data of a Messages stream event of exactly this shape
 *
 *   {"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"..."}}
 *
 * (members in any order, JSON whitespace anywhere between tokens, N a whole number from 0 to
 * 999999999 written without sign, fraction, exponent or leading zero) and nothing else: any
 * other member, a repeated member, an escape in a member name or in a "type" value, a control
 * character in a string, an invalid escape, a lone surrogate, or bytes after the object make it
 * answer 0, and the caller decodes the event the full way. So a recognised event decodes,
 * with any JSON parser, to exactly { type, index = N, delta = { type, text } }.
 *
 * The text is unescaped (\" \\ \/ \b \f \n \r \t and \u with four hex digits, surrogate pairs joined, as UTF-8);
 * other bytes, including non-ASCII ones, are copied as they are (as lua-cjson does). */
#ifndef AE_JTEXT_H
#define AE_JTEXT_H

#include <stddef.h>

/* data[0..len) as above. On a match returns 1, writes the text to out (which must have room
 * for len bytes: unescaping never lengthens) with its length in *text_len, and the index in
 * *index. Otherwise returns 0; out may have been written to. */
int ae_text_delta(const char *data, size_t len, char *out, size_t *text_len, long *index);

/* The number of bytes from p before the first '"', '\\' or control character (< 0x20), or end:
 * the run of a JSON string that needs no unescaping, scanned a word at a time. */
size_t ae_json_plain(const char *p, const char *end);

/* One JSON string starting at p (which must be the opening quote), unescaped into out (room for
 * end - p bytes is enough), its length in *out_len. Returns the position after the closing
 * quote, or NULL when the string is invalid or unterminated (rules as above). out may be p
 * itself: the unescaped bytes are never more than the bytes read, so it unescapes in place. */
const char *ae_json_string(const char *p, const char *end, char *out, size_t *out_len);

#endif
