/* core.h - what the Lua binding files share. */
#ifndef AE_CORE_H
#define AE_CORE_H

#include "compat.h"
#include "secret.h"

#define AE_KEY_MT "anthropic.key"
#define AE_ENGINE_MT "anthropic.engine"
#define AE_XFER_MT "anthropic.transfer"
/* The metatable of an empty table that encodes as [] (json.array): __json = "array". */
#define AE_JSON_ARRAY_MT "anthropic.json.array"

void ae_open_key(lua_State *L);     /* adds load_key, scrub to the module table on top */
void ae_open_engine(lua_State *L);  /* adds engine to the module table on top */
void ae_open_textbuf(lua_State *L); /* adds textbuf to the module table on top */
void ae_open_signal(lua_State *L);  /* adds sigint_trap, sigint_caught (lsignal.c) */

/* core.json_decode(text) -> value | nil, message (ljson.c) */
int ae_json_decode(lua_State *L);
/* core.json_encode(value) -> text | nil, message (ljsonenc.c) */
int ae_json_encode(lua_State *L);
/* Pushes the value of the JSON text s (1 result), or nil and a message (2 results). */
int ae_json_push(lua_State *L, const char *s, size_t len);
/* The same, unescaping strings in place in s: no unescape space as large as the text (the
 * engine's answer buffer, used once). s is garbage afterwards. */
int ae_json_push_inplace(lua_State *L, char *s, size_t len);

/* The key userdata at idx, or NULL when idx is nil/none; raises on anything else or a closed key. */
ae_secret *ae_check_key(lua_State *L, int idx, int *bearer);

#endif
