/* embed_host.c - a C host that uses libcurl itself and runs Lua states with the module, as an
 * embedder would (spec/embed_spec.lua runs it). Each Lua state loads the module, makes a request
 * through it and is closed, which unloads core.so; the host keeps using libcurl around that.
 *
 *   embed_host ORDER LUA_PATH LUA_CPATH FILE_URL OTHER_SO BASE_URL
 *     ORDER     host-first: the host initialises libcurl before any Lua state;
 *               module-first: the module's state initialises it, the host joins while it runs
 *     FILE_URL  a file:// URL the host's own transfers read
 *     OTHER_SO  a shared library loaded between the two Lua states (it may land where core.so was)
 *     BASE_URL  where the module's requests go (an error answer is fine: libcurl runs either way)
 * Prints one line per step; exits 0 when every step ran. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifndef LUA_OK /* Lua 5.1 and LuaJIT: lua_pcall returns 0 on success */
#define LUA_OK 0
#endif

static size_t count_bytes(char *data, size_t size, size_t n, void *ud) {
  (void)data;
  *(size_t *)ud += size * n;
  return size * n;
}

/* One transfer of the host's own, plus an allocation libcurl hands back to the host. */
static int host_transfer(const char *step, const char *url) {
  size_t got = 0;
  CURL *h = curl_easy_init();
  if (!h) return printf("%s: curl_easy_init failed\n", step), 1;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
  CURLcode rc = curl_easy_perform(h);
  CURL *dup = curl_easy_duphandle(h);
  curl_easy_cleanup(h);
  curl_easy_cleanup(dup);
  char *esc = curl_easy_escape(NULL, "a b", 3);
  int ok = rc == CURLE_OK && got > 0 && esc && strcmp(esc, "a%20b") == 0;
  curl_free(esc);
  printf("%s: host transfer %s\n", step, ok ? "ok" : curl_easy_strerror(rc));
  return !ok;
}

static const char *const SESSION =
    "local path, cpath, base_url, host_step = ...\n"
    "package.path, package.cpath = path, cpath\n"
    "local core = require 'anthropic.core'\n"
    "local anthropic = require 'anthropic'\n"
    "local c = anthropic.new { base_url = base_url, max_retries = 0 }\n"
    "local q = c.messages:create { model = 'claude-haiku-4-5', max_tokens = 8,\n"
    "                              messages = { { role = 'user', content = 'hi' } } }\n"
    "host_step()\n"
    "local _, err = c.messages:create { model = 'claude-haiku-4-5', max_tokens = 8,\n"
    "                                   messages = { { role = 'user', content = 'hi' } } }\n"
    "c:close()\n"
    "print(('module: request %s, libcurl_wiping %s'):format(\n"
    "  (q or err) and 'ran' or 'did not run', tostring(anthropic.libcurl_wiping())))\n";

static const char *g_url;
static int g_failed;

/* Called from the Lua session: the host uses libcurl while the module's state is open. */
static int host_step(lua_State *L) {
  (void)L;
  g_failed |= host_transfer("during", g_url);
  return 0;
}

static int lua_session(const char *path, const char *cpath, const char *base_url) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  int rc = luaL_loadstring(L, SESSION);
  if (rc == LUA_OK) {
    lua_pushstring(L, path);
    lua_pushstring(L, cpath);
    lua_pushstring(L, base_url);
    lua_pushcfunction(L, host_step);
    rc = lua_pcall(L, 4, 0, 0);
  }
  if (rc != LUA_OK) printf("module: %s\n", lua_tostring(L, -1));
  lua_close(L); /* unloads core.so */
  return rc != LUA_OK;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: embed_host ORDER LUA_PATH LUA_CPATH FILE_URL OTHER_SO BASE_URL\n");
    return 2;
  }
  const char *order = argv[1], *path = argv[2], *cpath = argv[3], *other = argv[5];
  const char *base = argv[6];
  int host_first = strcmp(order, "host-first") == 0;
  int failed = 0;
  g_url = argv[4];
  setvbuf(stdout, NULL, _IONBF, 0);

  if (host_first) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    failed |= host_transfer("before", g_url);
  }
  failed |= lua_session(path, cpath, base);
  if (!host_first) curl_global_init(CURL_GLOBAL_DEFAULT); /* joins: the module chose already */
  failed |= host_transfer("after", g_url);

  void *lib = dlopen(other, RTLD_NOW | RTLD_LOCAL);
  printf("loaded another library: %s\n", lib ? "yes" : dlerror());
  failed |= host_transfer("after another library", g_url);
  failed |= lua_session(path, cpath, base);
  failed |= host_transfer("after reload", g_url);
  if (lib) dlclose(lib);
  curl_global_cleanup();
  failed |= host_transfer("after cleanup", g_url);
  printf("%s\n", failed || g_failed ? "FAILED" : "done");
  /* _exit: every step this host checks has run; the exit handlers of the libraries libcurl pulls in
   * are not ours to test, and under make sanitize p11-kit's destructor can deadlock on glibc's
   * locale lock (seen in CI), which would hang the suite */
  fflush(stdout);
  _exit(failed || g_failed);
}
