/* curl_alloc.c - libcurl's allocator: the libc heap, wiped on free.
 * Request headers, the key's among them, pass through libcurl's own buffers; freed heap that
 * still held them would carry the key into a core dump or a later allocation. Each block
 * carries its size in front, so freeing knows what to wipe without libc extensions. */
#include "curl_alloc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef union head {
  size_t size;
  max_align_t align; /* keeps the caller's pointer aligned as malloc's would be */
} head;

static void *wipe_malloc(size_t n) {
  if (n > SIZE_MAX - sizeof(head)) return NULL;
  head *h = malloc(sizeof *h + n);
  if (!h) return NULL;
  h->size = n;
  return h + 1;
}

static void wipe_free(void *p) {
  if (!p) return;
  head *h = (head *)p - 1;
  explicit_bzero(h, sizeof *h + h->size);
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

int ae_curl_global_init(void) {
  return (int)curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc, wipe_free, wipe_realloc,
                                   wipe_strdup, wipe_calloc);
}
