/* lengine.c - Lua binding of the engine (engine.h) and its transfers. */
#include <limits.h>
#include <string.h>

#include "core.h"
#include "engine.h"
#include "jtext.h"

typedef struct lengine {
  ae_engine *e; /* NULL once closed */
} lengine;

typedef struct lxfer {
  ae_xfer *x;   /* NULL once closed */
} lxfer;

/* ---- engine ---- */

static lengine *toengine(lua_State *L, int idx) {
  return (lengine *)compat_checkudata(L, idx, AE_ENGINE_MT);
}

static ae_engine *checkengine(lua_State *L, int idx) {
  lengine *le = toengine(L, idx);
  if (!le->e) luaL_error(L, "attempt to use a closed engine");
  return le->e;
}

static int engine_new(lua_State *L) {
  lengine *le = lua_newuserdatauv(L, sizeof *le, 0);
  le->e = NULL;
  luaL_setmetatable(L, AE_ENGINE_MT);
  char err[AE_ERRLEN];
  le->e = ae_engine_new(err, sizeof err);
  if (!le->e) return luaL_error(L, "cannot create the HTTP engine: %s", err);
  return 1;
}

static int engine_close(lua_State *L) {
  lengine *le = toengine(L, 1);
  ae_engine_free(le->e); /* transfers stay valid, canceled and detached */
  le->e = NULL;
  return 0;
}

static int engine_tostring(lua_State *L) {
  lengine *le = toengine(L, 1);
  if (le->e) lua_pushfstring(L, "anthropic.engine (%p)", (void *)le->e);
  else lua_pushliteral(L, "anthropic.engine (closed)");
  return 1;
}

static int engine_step(lua_State *L) {
  lua_pushinteger(L, ae_engine_step(checkengine(L, 1)));
  return 1;
}

static int engine_timeout(lua_State *L) {
  double t = ae_engine_timeout(checkengine(L, 1));
  if (t < 0) lua_pushnil(L);
  else lua_pushnumber(L, t);
  return 1;
}

static int engine_wait(lua_State *L) {
  ae_engine *e = checkengine(L, 1);
  double max = luaL_optnumber(L, 2, -1);
  lua_pushinteger(L, ae_engine_wait(e, max));
  return 1;
}

/* eng:pollfd() -> fd | nil, message: one descriptor a host's loop can wait on (readable) */
static int engine_pollfd(lua_State *L) {
  int fd = ae_engine_pollfd(checkengine(L, 1));
  if (fd < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "no pollable descriptor (the system refused an epoll instance, or a pipe and a thread); "
                        "call anthropic.poll(0) each frame instead");
    return 2;
  }
  lua_pushinteger(L, fd);
  return 1;
}

/* eng:changes() -> a count that grows whenever a transfer may have become ready for its reader
 * (done, started, an event queued); tasks.lua asks its waiting tasks again only when it moved */
static int engine_changes(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ae_engine_changes(checkengine(L, 1)));
  return 1;
}

static int engine_connections(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ae_engine_connections(checkengine(L, 1)));
  return 1;
}

/* eng:warm_tls(ca_file|nil, ca_path|nil) -> boolean: see ae_engine_warm_tls */
static int engine_warm_tls(lua_State *L) {
  ae_engine *e = checkengine(L, 1);
  const char *file = luaL_optstring(L, 2, NULL), *path = luaL_optstring(L, 3, NULL);
  lua_pushboolean(L, ae_engine_warm_tls(e, file, path));
  return 1;
}

/* eng:budget(bytes, events): stream bytes and events one step may take in (0 = no limit) */
static int engine_budget(lua_State *L) {
  ae_engine *e = checkengine(L, 1);
  lua_Number bytes = luaL_checknumber(L, 2), events = luaL_checknumber(L, 3);
  luaL_argcheck(L, bytes >= 0, 2, "must be >= 0");
  luaL_argcheck(L, events >= 0, 3, "must be >= 0");
  ae_engine_set_budget(e, (size_t)bytes, (size_t)events);
  return 0;
}

/* ---- submit ---- */

/* The request fields eng:submit reads, interned once as upvalues of submit (and the transfer
 * metatable after them): a lookup with a Lua string is one hash probe, where lua_getfield with a
 * C string first finds the string in Lua's string cache. */
enum {
  F_METHOD = 1, F_URL, F_BODY, F_TIMEOUT, F_CONNECT_TIMEOUT, F_MAX_RETRIES, F_RETRY_AFTER_CAP,
  F_MAX_BODY, F_MAX_EVENT, F_MIN_SPEED, F_MIN_SPEED_TIME, F_IDEMPOTENT, F_STREAM, F_KEY, F_HEADERS,
  F_DEADLINE, F_PROXY, F_CA_FILE, F_CA_PATH, F_LINES, F_XFER_MT, /* not a field: the transfer metatable */
};
static const char *const submit_fields[] = {
    NULL, "method", "url", "body", "timeout", "connect_timeout", "max_retries", "retry_after_cap",
    "max_body", "max_event", "min_speed", "min_speed_time", "idempotent", "stream", "key", "headers",
    "deadline", "proxy", "ca_file", "ca_path", "lines"};

/* Pushes req[field] (req at index 2) and returns its type. */
static int field(lua_State *L, int f) {
  lua_pushvalue(L, lua_upvalueindex(f));
  return lua_rawget(L, 2);
}

static double optfield_number(lua_State *L, int f, double def) {
  double v = def;
  int type = field(L, f);
  if (type != LUA_TNIL) {
    if (!lua_isnumber(L, -1))
      luaL_error(L, "request field '%s' must be a number (got %s)", submit_fields[f], luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static const char *field_string(lua_State *L, int f, size_t *len, int required) {
  const char *s = NULL;
  int type = field(L, f);
  if (type == LUA_TSTRING) s = lua_tolstring(L, -1, len);
  else if (type != LUA_TNIL || required)
    luaL_error(L, "request field '%s' must be a string (got %s)", submit_fields[f], luaL_typename(L, -1));
  lua_pop(L, 1); /* the string stays referenced by the request table */
  return s;
}

/* eng:submit(req) -> transfer | nil, message, "config" */
static int engine_submit(lua_State *L) {
  ae_engine *e = checkengine(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  ae_request req;
  memset(&req, 0, sizeof req);
  size_t len;
  req.method = field_string(L, F_METHOD, NULL, 1);
  req.url = field_string(L, F_URL, &len, 1);
  if (strlen(req.url) != len) /* C would see a shorter URL than the one given */
    luaL_error(L, "request field 'url' contains a NUL byte at byte %d", (int)strlen(req.url) + 1);
  req.proxy = field_string(L, F_PROXY, &len, 0);
  if (req.proxy && strlen(req.proxy) != len)
    luaL_error(L, "request field 'proxy' contains a NUL byte at byte %d", (int)strlen(req.proxy) + 1);
  req.body = field_string(L, F_BODY, &req.body_len, 0);
  req.timeout = optfield_number(L, F_TIMEOUT, 600);
  req.connect_timeout = optfield_number(L, F_CONNECT_TIMEOUT, 5);
  req.max_retries = (int)optfield_number(L, F_MAX_RETRIES, 2);
  req.retry_after_cap = optfield_number(L, F_RETRY_AFTER_CAP, 60);
  req.max_body = (size_t)optfield_number(L, F_MAX_BODY, 0);
  req.max_event = (size_t)optfield_number(L, F_MAX_EVENT, 0);
  req.deadline = optfield_number(L, F_DEADLINE, 0);
  req.ca_file = field_string(L, F_CA_FILE, NULL, 0);
  req.ca_path = field_string(L, F_CA_PATH, NULL, 0);
  if (!(req.deadline >= 0 && req.deadline <= 86400)) /* (NaN too) */
    luaL_error(L, "request field 'deadline' must be a number of seconds from 0 to 86400");
  lua_Number min_speed = optfield_number(L, F_MIN_SPEED, 0);
  lua_Number min_speed_time = optfield_number(L, F_MIN_SPEED_TIME, 0);
  /* (bounds a 32-bit long holds: a double compared with LONG_MAX would be rounded on 64 bits) */
  if (min_speed < 0 || min_speed > 2147483647.0 || min_speed_time < 0 || min_speed_time > 2147483647.0 ||
      min_speed_time != (long)min_speed_time)
    luaL_error(L, "request fields 'min_speed' (bytes/s) and 'min_speed_time' (whole seconds) must be >= 0");
  req.min_speed = (long)min_speed;
  req.min_speed_time = (long)min_speed_time;
  req.idempotent = field(L, F_IDEMPOTENT) == LUA_TNIL ? 1 : lua_toboolean(L, -1);
  lua_pop(L, 1);
  field(L, F_STREAM);
  req.stream = lua_toboolean(L, -1);
  lua_pop(L, 1);
  field(L, F_LINES);
  req.lines = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (req.max_retries < 0) luaL_error(L, "request field 'max_retries' must be >= 0");

  field(L, F_KEY); /* index 3 */
  req.key = ae_check_key(L, 3, &req.bearer);

  field(L, F_HEADERS); /* index 4 */
  size_t n = lua_istable(L, 4) ? lua_rawlen(L, 4) : 0;
  const char *few[16]; /* the usual lists need no allocation; a longer one takes index 5 */
  const char **hdrs = n <= 16 ? few : lua_newuserdatauv(L, n * sizeof *hdrs, 0);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 4, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "request headers[%d] must be a \"Name: value\" string", (int)i + 1);
    hdrs[i] = lua_tolstring(L, -1, &len);
    if (strlen(hdrs[i]) != len) /* libcurl would send the line cut short at the NUL */
      luaL_error(L, "request headers[%d] contains a NUL byte at byte %d", (int)i + 1,
                 (int)strlen(hdrs[i]) + 1);
    lua_pop(L, 1);
  }
  req.headers = hdrs;
  req.nheaders = n;

  lxfer *lx = lua_newuserdatauv(L, sizeof *lx, 1);
  lx->x = NULL;
  lua_pushvalue(L, lua_upvalueindex(F_XFER_MT));
  lua_setmetatable(L, -2);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1); /* the engine lives as long as its transfers */
  char err[AE_ERRLEN];
  lx->x = ae_submit(e, &req, err, sizeof err);
  if (!lx->x) { /* the message may quote the URL: scrub it like every other message */
    char clean[AE_ERRLEN];
    ae_scrub(err, req.key, clean, sizeof clean);
    lua_pushnil(L);
    lua_pushstring(L, clean);
    lua_pushliteral(L, "config");
    return 3;
  }
  return 1;
}

/* ---- transfers ---- */

static lxfer *toxfer(lua_State *L) { return (lxfer *)compat_checkudata(L, 1, AE_XFER_MT); }

static ae_xfer *checkxfer(lua_State *L) {
  lxfer *lx = toxfer(L);
  if (!lx->x) luaL_error(L, "attempt to use a closed transfer");
  return lx->x;
}

static int xfer_close(lua_State *L) {
  lxfer *lx = toxfer(L);
  ae_xfer_free(lx->x);
  lx->x = NULL;
  return 0;
}

static int xfer_cancel(lua_State *L) {
  lxfer *lx = toxfer(L);
  if (lx->x) ae_xfer_cancel(lx->x);
  return 0;
}

static int xfer_done(lua_State *L) {
  lua_pushboolean(L, ae_xfer_done(checkxfer(L)));
  return 1;
}

static int xfer_tostring(lua_State *L) {
  lxfer *lx = toxfer(L);
  if (!lx->x) lua_pushliteral(L, "anthropic.transfer (closed)");
  else lua_pushfstring(L, "anthropic.transfer (%s)", ae_xfer_done(lx->x) ? "done" : "running");
  return 1;
}

static const char *const error_kinds[] = {NULL, "connection", "timeout", "canceled", "config", "tls"};

static void push_headers(lua_State *L, const ae_xfer *x) {
  size_t n = ae_xfer_nheaders(x);
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    ae_xfer_header(x, i, &name, &value);
    lua_getfield(L, -1, name);
    if (lua_isnil(L, -1)) { /* a repeated header joins with ", " as HTTP allows */
      lua_pushstring(L, value);
    } else {
      lua_pushfstring(L, "%s, %s", lua_tostring(L, -1), value);
    }
    lua_setfield(L, -3, name);
    lua_pop(L, 1);
  }
}

static void push_history(lua_State *L, const ae_xfer *x) {
  size_t n = ae_xfer_nhistory(x);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    const ae_history *h = ae_xfer_history(x, i);
    lua_createtable(L, 0, 3);
    if (h->status) {
      lua_pushinteger(L, h->status);
      lua_setfield(L, -2, "status");
    }
    if (h->error) {
      lua_pushstring(L, error_kinds[h->error]);
      lua_setfield(L, -2, "kind");
    }
    lua_pushnumber(L, h->delay);
    lua_setfield(L, -2, "delay");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* t:result() -> nil while running; then the outcome table (see docs/internals.md) */
static int xfer_result(lua_State *L) {
  ae_xfer *x = checkxfer(L);
  if (!ae_xfer_done(x)) return 0;
  lua_createtable(L, 0, 10);
  int status = ae_xfer_status(x);
  if (status) {
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
  }
  push_headers(L, x);
  lua_setfield(L, -2, "headers");
  size_t len;
  const char *body = ae_xfer_body(x, &len);
  lua_pushlstring(L, body, len);
  lua_setfield(L, -2, "body");
  lua_pushinteger(L, ae_xfer_attempts(x));
  lua_setfield(L, -2, "attempts");
  const char *msg;
  int kind = ae_xfer_error(x, &msg);
  if (kind) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, error_kinds[kind]);
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    lua_setfield(L, -2, "error");
  }
  lua_pushboolean(L, ae_xfer_ambiguous(x));
  lua_setfield(L, -2, "ambiguous");
  lua_pushboolean(L, ae_xfer_retryable(x));
  lua_setfield(L, -2, "retryable");
  double ra = ae_xfer_retry_after(x);
  if (ra >= 0) {
    lua_pushnumber(L, ra);
    lua_setfield(L, -2, "retry_after");
  }
  push_history(L, x);
  lua_setfield(L, -2, "history");
  if (ae_xfer_started(x)) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "started");
    lua_pushinteger(L, (lua_Integer)ae_xfer_events(x));
    lua_setfield(L, -2, "events");
    lua_pushboolean(L, ae_xfer_stream_clean(x));
    lua_setfield(L, -2, "clean");
  }
  return 1;
}

/* Cheap accessors for the common case (a successful answer), so that t:result()'s tables are
 * built only when something went wrong or the caller asks. */

/* t:status() -> HTTP status | nil, then the error kind ("connection", "timeout", "canceled", "tls")
 * | nil; nil, nil while running */
static int xfer_status(lua_State *L) {
  ae_xfer *x = checkxfer(L);
  if (!ae_xfer_done(x)) return 0;
  int status = ae_xfer_status(x);
  if (status) lua_pushinteger(L, status);
  else lua_pushnil(L);
  const char *msg;
  int kind = ae_xfer_error(x, &msg);
  if (kind) lua_pushstring(L, error_kinds[kind]);
  else lua_pushnil(L);
  return 2;
}

/* t:body() -> the current attempt's answer body so far */
static int xfer_body(lua_State *L) {
  size_t len;
  const char *body = ae_xfer_body(checkxfer(L), &len);
  lua_pushlstring(L, body, len);
  return 1;
}

/* t:decoded() -> the answer as a Lua value, when the transfer is done with a 2xx answer that is
 * valid JSON; nil and the decoder's message for a 2xx answer that is not; nil while running or
 * for anything else (t:result() then tells what happened). Decodes the body where it lies, its
 * strings unescaped in place, without making it a Lua string, and frees it: the answer is read
 * once (t:body() and result().body are "" after; a second call gives nil, "already decoded").
 * At the max_body cap that keeps the peak to the buffer and the value, not three copies. */
static int xfer_decoded(lua_State *L) {
  ae_xfer *x = checkxfer(L);
  int status = ae_xfer_status(x);
  const char *msg;
  if (!ae_xfer_done(x) || status < 200 || status > 299 || ae_xfer_error(x, &msg)) return 0;
  if (ae_xfer_consumed(x)) {
    lua_pushnil(L);
    lua_pushliteral(L, "the answer was already decoded");
    return 2;
  }
  size_t len;
  char *body = ae_xfer_body_mut(x, &len);
  lua_settop(L, 1);
  char empty[1] = {0};
  int n = ae_json_push_inplace(L, body ? body : empty, len);
  ae_xfer_drop_body(x);
  return n;
}

/* t:header(name) -> value | nil; name in lower case; repeated headers joined with ", " */
static int xfer_header(lua_State *L) {
  ae_xfer *x = checkxfer(L);
  const char *want = luaL_checkstring(L, 2);
  size_t n = ae_xfer_nheaders(x);
  int found = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    ae_xfer_header(x, i, &name, &value);
    if (strcmp(name, want) != 0) continue;
    if (found) {
      lua_pushfstring(L, "%s, %s", lua_tostring(L, -1), value);
      lua_remove(L, -2);
    } else {
      lua_pushstring(L, value);
    }
    found = 1;
  }
  if (!found) lua_pushnil(L);
  return 1;
}

/* ---- streams ---- */

/* t:started() -> true once the current attempt of a stream got 2xx headers */
static int xfer_started(lua_State *L) {
  lua_pushboolean(L, ae_xfer_started(checkxfer(L)));
  return 1;
}

/* t:queued() -> number of events (line mode: lines) waiting */
static int xfer_queued(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ae_xfer_queued(checkxfer(L)));
  return 1;
}

/* t:queued_bytes() -> the bytes the queue holds, as the engine counts them against its bounds */
static int xfer_queued_bytes(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ae_xfer_queued_bytes(checkxfer(L)));
  return 1;
}

/* t:next_event([text]) -> name, data | nil when none is queued (t:done() tells the end).
 * With text true, a text delta (jtext.h: data exactly {"type":"content_block_delta","index":N,
 * "delta":{"type":"text_delta","text":...}}) comes as name, nil, text, N instead: no JSON for
 * Lua to decode. The strings are pushed while the event still belongs to the queue, so a memory
 * error raised by Lua leaks nothing; only then is it dropped. */
/* Push ev's text when ev is a text delta (jtext.h) and return 1 with its block index in *index;
 * else push nothing and return 0. The event stays queued either way. */
static int push_text_delta(lua_State *L, const ae_event *ev, long *index) {
  if (ev->data_len == 0 || ev->data[0] != '{') return 0;
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, ev->data_len);
  size_t n;
  int ok = ae_text_delta(ev->data, ev->data_len, out, &n, index);
  luaL_pushresultsize(&b, ok ? n : 0);
  if (!ok) lua_pop(L, 1);
  return ok;
}

static int xfer_next_event(lua_State *L) {
  ae_xfer *x = checkxfer(L);
  const ae_event *ev = ae_xfer_peek_event(x);
  long index;
  if (!ev) return 0;
  if (lua_toboolean(L, 2) && push_text_delta(L, ev, &index)) {
    lua_pushlstring(L, ev->name, ev->name_len);
    lua_pushnil(L);
    lua_rotate(L, -3, -1); /* name, nil, text */
    lua_pushinteger(L, (lua_Integer)index);
    ae_xfer_drop_event(x);
    return 4;
  }
  lua_pushlstring(L, ev->name, ev->name_len);
  lua_pushlstring(L, ev->data, ev->data_len);
  ae_xfer_drop_event(x);
  return 2;
}

/* t:next_texts(buf, max) -> n, index: the queued text deltas at the head of the queue that
 * belong to one content block (the first one's index), at most max, as their texts in
 * buf[1..n]; 0 when the next queued event is not a text delta (or none is queued). A long
 * stream's deltas then cost one call per batch instead of one per event. Each text is stored
 * before its event leaves the queue, so a memory error raised by Lua loses nothing. */
static int xfer_next_texts(lua_State *L) {
  ae_xfer *x = checkxfer(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer max = luaL_checkinteger(L, 3), n = 0;
  long first = -1, index;
  const ae_event *ev;
  while (n < max && (ev = ae_xfer_peek_event(x)) && push_text_delta(L, ev, &index)) {
    if (first >= 0 && index != first) { /* another block: it starts the next batch */
      lua_pop(L, 1);
      break;
    }
    lua_rawseti(L, 2, ++n);
    first = index;
    ae_xfer_drop_event(x);
  }
  lua_pushinteger(L, n);
  lua_pushinteger(L, first);
  return 2;
}

/* t:headers() -> the current attempt's headers so far (names lower-cased) */
static int xfer_headers(lua_State *L) {
  push_headers(L, checkxfer(L));
  return 1;
}

/* t:history() -> one row per retried attempt so far, as in t:result().history */
static int xfer_history(lua_State *L) {
  push_history(L, checkxfer(L));
  return 1;
}

static const luaL_Reg engine_meta[] = {{"__gc", engine_close},
                                       {"__close", engine_close},
                                       {"__tostring", engine_tostring},
                                       {NULL, NULL}};

static const luaL_Reg engine_methods[] = {
    {"step", engine_step},     {"timeout", engine_timeout},
    {"wait", engine_wait},     {"close", engine_close},   {"connections", engine_connections},
    {"changes", engine_changes}, {"pollfd", engine_pollfd}, {"budget", engine_budget},
    {"warm_tls", engine_warm_tls},
    {NULL, NULL}};

static const luaL_Reg xfer_meta[] = {
    {"__gc", xfer_close}, {"__close", xfer_close}, {"__tostring", xfer_tostring}, {NULL, NULL}};

static const luaL_Reg xfer_methods[] = {
    {"done", xfer_done},       {"result", xfer_result},       {"cancel", xfer_cancel},
    {"close", xfer_close},     {"started", xfer_started},     {"queued", xfer_queued},
    {"queued_bytes", xfer_queued_bytes}, {"next_event", xfer_next_event}, {"next_texts", xfer_next_texts},
    {"headers", xfer_headers}, {"history", xfer_history},     {"header", xfer_header},
    {"status", xfer_status},   {"body", xfer_body},           {"decoded", xfer_decoded},
    {NULL, NULL}};

void ae_open_engine(lua_State *L) {
  compat_newclass(L, AE_ENGINE_MT, engine_meta, engine_methods);
  compat_newclass(L, AE_XFER_MT, xfer_meta, xfer_methods);
  luaL_getmetatable(L, AE_ENGINE_MT);
  lua_getfield(L, -1, "__index");
  for (int f = F_METHOD; f < F_XFER_MT; f++) lua_pushstring(L, submit_fields[f]);
  luaL_getmetatable(L, AE_XFER_MT);
  lua_pushcclosure(L, engine_submit, F_XFER_MT);
  lua_setfield(L, -2, "submit");
  lua_pop(L, 2);
  lua_pushcfunction(L, engine_new);
  lua_setfield(L, -2, "engine");
}
