/* curl_alloc.h - libcurl's global init with an allocator that wipes memory on free. */
#ifndef AE_CURL_ALLOC_H
#define AE_CURL_ALLOC_H

#include <curl/curl.h>

/* curl_global_init_mem with the wiping allocator. Only the first global init in a process
 * chooses the allocator: when the host initialised libcurl before us, its allocator stays. */
int ae_curl_global_init(void);

#endif
