/* loopback.h - loopback addresses, by URL host and by socket address. Pure C (no Lua, no
 * libcurl). Plain http carries a key only to a host these accept (route.h). */
#ifndef AE_LOOPBACK_H
#define AE_LOOPBACK_H

#include <stddef.h>
#include <sys/socket.h>

/* Whether a URL host (as libcurl's URL parser gives it: IPv6 literals in brackets) is a loopback
 * address: an IPv4 literal in 127.0.0.0/8, ::1 or ::ffff:127.x.y.z, or "localhost". A name
 * such as "127.evil.example" is not. */
int ae_host_is_loopback(const char *host);

/* Whether a socket address is a loopback one (AF_INET 127/8, AF_INET6 ::1 or v4-mapped 127/8). */
int ae_sockaddr_is_loopback(const struct sockaddr *sa, size_t len);

#endif
