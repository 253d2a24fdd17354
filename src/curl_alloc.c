/* curl_alloc.c - libcurl's allocator: the libc heap, wiped on free.
 * Request headers, the key's among them, pass through libcurl's own buffers; freed heap that
 * still held them would carry the key into a core dump or a later allocation. Each block
 * carries its size in front, so freeing knows what to wipe without libc extensions.
 *
 * Freed blocks of BIG_MIN bytes or more are kept, wiped, for the next allocation of the same size
 * (at most CACHE_BLOCKS of them, CACHE_BYTES in all). libcurl allocates and frees a 16 KiB
 * receive buffer for every transfer; with many transfers in flight, handing those back to malloc
 * let the heap's top shrink and grow again, and wiping a block whose pages were fresh (most of a
 * receive buffer is never written) faulted every page in: three page faults a request. libcurl
 * may allocate from its resolver thread, hence the lock. */
#include "curl_alloc.h"
#include "platform.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef union head {
  size_t size;
  max_align_t align; /* keeps the caller's pointer aligned as malloc's would be */
} head;

#define BIG_MIN 4096
#define CACHE_BLOCKS 64
#define CACHE_BYTES ((size_t)1 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static head *cache[CACHE_BLOCKS];
static int ncache;
static size_t cache_bytes;

/* A kept block of exactly n bytes, or NULL. */
static head *cache_take(size_t n) {
  head *h = NULL;
  pthread_mutex_lock(&cache_lock);
  for (int i = ncache; i-- > 0;)
    if (cache[i]->size == n) {
      h = cache[i];
      cache[i] = cache[--ncache];
      cache_bytes -= n;
      break;
    }
  pthread_mutex_unlock(&cache_lock);
  return h;
}

/* Keeps a wiped block if there is room; 0 when it must go back to malloc. */
static int cache_put(head *h) {
  int kept = 0;
  pthread_mutex_lock(&cache_lock);
  if (ncache < CACHE_BLOCKS && cache_bytes + h->size <= CACHE_BYTES) {
    cache[ncache++] = h;
    cache_bytes += h->size;
    kept = 1;
  }
  pthread_mutex_unlock(&cache_lock);
  return kept;
}

#if defined(__GNUC__)
/* lua_close unloads the module: what the cache holds goes back to malloc first, not lost. */
__attribute__((destructor)) static void cache_release(void) {
  pthread_mutex_lock(&cache_lock);
  while (ncache > 0) free(cache[--ncache]);
  cache_bytes = 0;
  pthread_mutex_unlock(&cache_lock);
}
#endif

/* Set by the first allocation libcurl makes through us: whether it took our allocator. */
static int used;

static void *wipe_malloc(size_t n) {
  __atomic_store_n(&used, 1, __ATOMIC_RELAXED);
  if (n > SIZE_MAX - sizeof(head)) return NULL;
  head *h = n >= BIG_MIN ? cache_take(n) : NULL;
  if (!h && !(h = malloc(sizeof *h + n))) return NULL;
  h->size = n;
  return h + 1;
}

static void wipe_free(void *p) {
  if (!p) return;
  head *h = (head *)p - 1;
  size_t n = h->size;
  ae_wipe(h + 1, n);
  if (n >= BIG_MIN && cache_put(h)) return;
  ae_wipe(h, sizeof *h);
  free(h);
}

static void *wipe_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = wipe_malloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

/* Always a new block: the old one is wiped like a freed one, never left stale by a move. */
static void *wipe_realloc(void *p, size_t n) {
  if (!p) return wipe_malloc(n);
  size_t have = ((head *)p - 1)->size;
  void *q = wipe_malloc(n ? n : 1);
  if (!q) return NULL;
  memcpy(q, p, have < n ? have : n);
  wipe_free(p);
  return q;
}

static char *wipe_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = wipe_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* libcurl keeps calling the allocator for the rest of the process, from the host's own transfers
 * too, long after lua_close has unloaded this module: the module must stay mapped. RTLD_NODELETE
 * on an object already loaded makes every later dlclose of it a no-op (the handle is never closed).
 * A module linked into the host statically is resident anyway; then nothing is found to pin. */
static void pin_module(void) {
  Dl_info info;
  if (dladdr((void *)&pin_module, &info) && info.dli_fname)
    (void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

static int wiping;

/* Only the first global init in a process chooses the allocator; a later one (ours, when the host
 * initialised libcurl first) just counts. Which happened shows in where libcurl's next allocation
 * comes from. Never cleaned up: another state or the host may still be using libcurl. */
static void global_init(void) {
  if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc, wipe_free, wipe_realloc,
                           wipe_strdup, wipe_calloc) != CURLE_OK)
    return;
  curl_free(curl_easy_escape(NULL, "a", 1));
  wiping = __atomic_load_n(&used, __ATOMIC_RELAXED);
  if (wiping) pin_module();
}

int ae_curl_global_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, global_init);
  return wiping;
}
