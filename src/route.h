/* route.h - the path a request's bytes take, decided before any byte is sent. The rule it holds:
 * a key's bytes never travel in clear to anything but a loopback peer.
 *
 *   - https:// goes anywhere; through a proxy only as a CONNECT tunnel (TLS end to end, the proxy
 *     sees "CONNECT host:443" and ciphertext). Which proxy: the `proxy` option, else the variables
 *     libcurl reads (https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY; NO_PROXY/no_proxy as libcurl
 *     does).
 *   - A loopback target (an IP literal in 127.0.0.0/8, ::1, or the name localhost) is always
 *     reached directly, never through a proxy: a proxy could not reach this machine's loopback
 *     anyway, and over plain http it would see the key.
 *   - Plain http:// with a key only to a loopback target, and every address it connects to must be
 *     a loopback address (loopback.h, ae_sockaddr_is_loopback, checked when libcurl opens the socket: a name
 *     that resolves elsewhere is refused).
 *
 * No Lua headers; libcurl only for its URL parser. Messages never hold a proxy URL (it may carry
 * credentials) or any key byte. */
#ifndef AE_ROUTE_H
#define AE_ROUTE_H

#include <stddef.h>

#include "loopback.h"

typedef struct ae_route {
  int https;          /* TLS to the target: a proxy is used as a CONNECT tunnel only */
  int direct;         /* a loopback target: no proxy, whatever the options or environment say */
  int loopback_only;  /* plain http to a loopback target: each connected peer must be loopback */
} ae_route;

/* Check a URL for a request: scheme http or https, and a key (has_key) over plain http only to
 * a loopback host. proxy: the request's proxy option (NULL: the environment's, "": none). Also
 * checks that the proxy that would carry the request (the option, or the variable libcurl would
 * read) is one libcurl can use, naming the option or variable when it is not. Returns 1 with *r
 * filled, or 0 with err set. */
int ae_route_check(const char *url, int has_key, const char *proxy, ae_route *r, char *err,
                   size_t errlen);

/* Whether a proxy URL is usable: http://, https://, socks4://, socks4a://, socks5://, socks5h://
 * (no scheme: http), with a host, no control bytes or spaces. what names it in the message
 * ("the proxy option", "the https_proxy environment variable"). 1, or 0 with err set. */
int ae_proxy_check(const char *what, const char *proxy, char *err, size_t errlen);

#endif
