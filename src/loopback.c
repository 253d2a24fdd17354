/* loopback.c - what counts as a loopback address (see loopback.h). */
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

static int v4_loopback(const struct in_addr *a) { return (ntohl(a->s_addr) >> 24) == 127; }

static int v6_loopback(const struct in6_addr *a) {
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (IN6_IS_ADDR_LOOPBACK(a)) return 1;
  return memcmp(a->s6_addr, mapped, sizeof mapped) == 0 && a->s6_addr[12] == 127;
}

int ae_host_is_loopback(const char *host) {
  struct in_addr a4;
  struct in6_addr a6;
  char buf[64];
  size_t n;
  if (!host) return 0;
  if (strcasecmp(host, "localhost") == 0) return 1; /* the peer is checked when connecting */
  if (inet_pton(AF_INET, host, &a4) == 1) return v4_loopback(&a4);
  n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    host = buf;
  }
  return inet_pton(AF_INET6, host, &a6) == 1 && v6_loopback(&a6);
}

int ae_sockaddr_is_loopback(const struct sockaddr *sa, size_t len) {
  if (!sa) return 0;
  if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
    return v4_loopback(&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
  if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
    return v6_loopback(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
  return 0;
}
