/* curl_alloc.h - libcurl's global init with an allocator that wipes memory on free. */
#ifndef AE_CURL_ALLOC_H
#define AE_CURL_ALLOC_H

#include <curl/curl.h>

/* libcurl's global init with the wiping allocator, once per process (idempotent, thread-safe).
 * -> 1 when libcurl uses the wiping allocator (the module then stays loaded for the rest of the
 * process), 0 when the host initialised libcurl first and its allocator stays. */
int ae_curl_global_init(void);

#endif
