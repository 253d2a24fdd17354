/* ltextbuf.c - core.textbuf(): a piece of text that grows outside the Lua heap.
 *
 * A streamed block's text (or thinking, or tool input) arrives in thousands of small deltas and is
 * kept for stream:final(). Kept in Lua strings, the text would count towards the heap the Lua
 * collector paces itself by, and every delta the caller reads (garbage once read) could pile up
 * to a few times the text before a cycle ends. Here it lives in malloc'd chunks the collector
 * does not see, so the Lua heap stays small and is collected often, and keeping the text costs
 * about its size. Chunks double (up to CHUNK_MAX), so growing never copies what is there.
 *
 *   tb:add(s), tb:add_batch(list, n)  append s, or list[1] .. list[n]
 *   tb:size()                         bytes kept
 *   tb:take()                         the text as one string (nil if nothing was added); empties
 *   tb:close() / __gc / __close       frees the chunks (idempotent; the buffer is then empty)
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define AE_TEXTBUF_MT "anthropic.textbuf"
#define CHUNK_MIN 256
#define CHUNK_MAX (256 * 1024)

typedef struct chunk {
  struct chunk *next;
  size_t len, cap;
  char data[];
} chunk;

typedef struct textbuf {
  chunk *head, *tail;
  size_t size;
} textbuf;

static textbuf *checkbuf(lua_State *L) { return compat_checkudata(L, 1, AE_TEXTBUF_MT); }

static void clear(textbuf *tb) {
  while (tb->head) {
    chunk *c = tb->head;
    tb->head = c->next;
    free(c);
  }
  tb->tail = NULL;
  tb->size = 0;
}

/* Appends s; when memory runs out, raises with nothing of s added. */
static void append(lua_State *L, textbuf *tb, const char *s, size_t len) {
  chunk *t = tb->tail, *c = NULL;
  size_t room = t ? t->cap - t->len : 0, now = len < room ? len : room, rest = len - now;
  if (rest) { /* the new chunk first, so a failure leaves the buffer as it was */
    size_t cap = t ? t->cap * 2 : CHUNK_MIN;
    if (cap > CHUNK_MAX) cap = CHUNK_MAX;
    if (cap < rest) cap = rest;
    if (!(c = malloc(sizeof *c + cap))) luaL_error(L, "not enough memory to keep a stream's text");
    c->next = NULL;
    c->len = rest;
    c->cap = cap;
    memcpy(c->data, s + now, rest);
  }
  if (now) {
    memcpy(t->data + t->len, s, now);
    t->len += now;
  }
  if (c) {
    if (t) t->next = c;
    else tb->head = c;
    tb->tail = c;
  }
  tb->size += len;
}

static int textbuf_new(lua_State *L) {
  textbuf *tb = lua_newuserdatauv(L, sizeof *tb, 0);
  tb->head = tb->tail = NULL;
  tb->size = 0;
  luaL_setmetatable(L, AE_TEXTBUF_MT);
  return 1;
}

static int textbuf_add(lua_State *L) {
  textbuf *tb = checkbuf(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  append(L, tb, s, len);
  return 0;
}

static int textbuf_add_batch(lua_State *L) {
  textbuf *tb = checkbuf(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_checkinteger(L, 3);
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    if (lua_rawgeti(L, 2, i) != LUA_TSTRING)
      return luaL_error(L, "textbuf:add_batch: item %d is a %s, not a string", (int)i, luaL_typename(L, -1));
    const char *s = lua_tolstring(L, -1, &len);
    append(L, tb, s, len);
    lua_pop(L, 1);
  }
  return 0;
}

static int textbuf_size(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkbuf(L)->size);
  return 1;
}

static int textbuf_take(lua_State *L) {
  textbuf *tb = checkbuf(L);
  if (!tb->head) return 0;
  if (tb->head == tb->tail) {
    lua_pushlstring(L, tb->head->data, tb->head->len);
  } else {
    luaL_Buffer b;
    size_t size = tb->size;
    char *p = luaL_buffinitsize(L, &b, size);
    /* each chunk freed once copied: the text is held at most twice (Lua 5.4 copies the buffer
     * into the string), never three times */
    while (tb->head) {
      chunk *c = tb->head;
      memcpy(p, c->data, c->len);
      p += c->len;
      tb->head = c->next;
      free(c);
    }
    clear(tb);
    luaL_pushresultsize(&b, size);
    return 1;
  }
  clear(tb);
  return 1;
}

static int textbuf_close(lua_State *L) {
  clear(checkbuf(L));
  return 0;
}

static int textbuf_tostring(lua_State *L) {
  char size[24]; /* (lua_pushfstring's %I is 5.3+) */
  snprintf(size, sizeof size, "%zu", checkbuf(L)->size);
  lua_pushfstring(L, "anthropic.textbuf (%s bytes)", size);
  return 1;
}

static const luaL_Reg textbuf_meta[] = {
    {"__gc", textbuf_close}, {"__close", textbuf_close}, {"__tostring", textbuf_tostring}, {NULL, NULL}};

static const luaL_Reg textbuf_methods[] = {
    {"add", textbuf_add},   {"add_batch", textbuf_add_batch}, {"size", textbuf_size},
    {"take", textbuf_take}, {"close", textbuf_close},          {NULL, NULL}};

void ae_open_textbuf(lua_State *L) {
  compat_newclass(L, AE_TEXTBUF_MT, textbuf_meta, textbuf_methods);
  lua_pushcfunction(L, textbuf_new);
  lua_setfield(L, -2, "textbuf");
}
