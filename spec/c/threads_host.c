/* threads_host.c - a C host that runs one Lua state per thread, all at once, each loading the
 * module and driving its own tasks (spec/threads_spec.lua runs it; docs/embedding.md#threads).
 *
 *   threads_host THREADS LUA_PATH LUA_CPATH BASE_URL
 *
 * The threads start together (a barrier); each makes its own state, loads the module, runs three
 * creates and a stream as tasks through anthropic.run(), checks the answers, closes its client
 * and its state. The key comes from ANTHROPIC_API_KEY. Prints "thread N: ok" (or what failed) per
 * thread, then "done"; exits 0 when every thread was ok. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SESSION =
    "local path, cpath, base_url, n = ...\n"
    "package.path, package.cpath = path, cpath\n"
    "local anthropic = require 'anthropic'\n"
    "local c = anthropic.new { base_url = base_url, max_retries = 0 }\n"
    "local function ask(text)\n"
    "  return { model = 'claude-haiku-4-5', max_tokens = 64,\n"
    "           messages = { { role = 'user', content = text } } }\n"
    "end\n"
    "local tasks = {}\n"
    "for i = 1, 3 do\n"
    "  tasks[i] = anthropic.spawn(function()\n"
    "    return assert(c.messages:create(ask('thread ' .. n .. ' task ' .. i))).content[1].text\n"
    "  end)\n"
    "end\n"
    "local streamed = anthropic.spawn(function()\n"
    "  local s = assert(c.messages:stream(ask('thread ' .. n .. ' stream')))\n"
    "  local t = {}\n"
    "  for piece in s:text() do t[#t + 1] = piece end\n"
    "  return table.concat(t)\n"
    "end)\n"
    "anthropic.run()\n"
    "for i = 1, 3 do\n"
    "  local text, err = tasks[i]:wait()\n"
    "  assert(text == 'You said: thread ' .. n .. ' task ' .. i, tostring(err or text))\n"
    "end\n"
    "local text, err = streamed:wait()\n"
    "assert(text == 'You said: thread ' .. n .. ' stream', tostring(err or text))\n"
    "c:close()\n";

static const char *lua_path, *lua_cpath, *base_url;
static pthread_barrier_t start;

typedef struct {
  int n;
  char result[512];
} job;

static void *run(void *ud) {
  job *j = ud;
  pthread_barrier_wait(&start);
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(j->result, sizeof j->result, "no memory for a state");
    return NULL;
  }
  luaL_openlibs(L);
  int rc = luaL_loadstring(L, SESSION);
  if (rc == 0) {
    lua_pushstring(L, lua_path);
    lua_pushstring(L, lua_cpath);
    lua_pushstring(L, base_url);
    lua_pushinteger(L, j->n);
    rc = lua_pcall(L, 4, 0, 0);
  }
  if (rc != 0) {
    const char *msg = lua_tostring(L, -1);
    snprintf(j->result, sizeof j->result, "%s", msg ? msg : "an error that is not a string");
  } else {
    snprintf(j->result, sizeof j->result, "ok");
  }
  lua_close(L);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: threads_host THREADS LUA_PATH LUA_CPATH BASE_URL\n");
    return 2;
  }
  int n = atoi(argv[1]);
  if (n < 1 || n > 64) return 2;
  lua_path = argv[2], lua_cpath = argv[3], base_url = argv[4];
  pthread_t th[64];
  job jobs[64];
  pthread_barrier_init(&start, NULL, (unsigned)n);
  for (int i = 0; i < n; i++) {
    jobs[i].n = i + 1;
    strcpy(jobs[i].result, "did not run");
    if (pthread_create(&th[i], NULL, run, &jobs[i]) != 0) return printf("pthread_create failed\n"), 1;
  }
  int failed = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    printf("thread %d: %s\n", jobs[i].n, jobs[i].result);
    failed += strcmp(jobs[i].result, "ok") != 0;
  }
  pthread_barrier_destroy(&start);
  printf("done\n");
  return failed != 0;
}
