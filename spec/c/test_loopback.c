/* test_loopback.c - which URL hosts and socket addresses count as loopback (src/loopback.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "loopback.h"

static int v4(const char *ip) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &a.sin_addr);
  return ae_sockaddr_is_loopback((const struct sockaddr *)&a, sizeof a);
}

static int v6(const char *ip) {
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  inet_pton(AF_INET6, ip, &a.sin6_addr);
  return ae_sockaddr_is_loopback((const struct sockaddr *)&a, sizeof a);
}

int main(void) {
  static const char *const yes[] = {"127.0.0.1", "127.1.2.3", "127.255.255.255", "localhost",
                                    "LocalHost", "::1", "[::1]", "[::ffff:127.0.0.1]",
                                    "[0:0:0:0:0:0:0:1]", NULL};
  static const char *const no[] = {"127.evil.example", "127.0.0.1.evil.example", "127.",
                                   "127", "localhost.evil.example", "evil-localhost",
                                   "localhost.", "128.0.0.1", "126.255.255.255", "10.0.0.1",
                                   "0.0.0.0", "[::]", "[::2]", "[::ffff:10.0.0.1]",
                                   "[::1", "::1]", "[]", "", "127.0.0.1 ", " 127.0.0.1",
                                   "[fe80::1]", NULL};
  for (int i = 0; yes[i]; i++) CHECK(ae_host_is_loopback(yes[i]), "%s is loopback", yes[i]);
  for (int i = 0; no[i]; i++) CHECK(!ae_host_is_loopback(no[i]), "%s is not loopback", no[i]);
  CHECK(!ae_host_is_loopback(NULL), "NULL is not loopback");

  CHECK(v4("127.0.0.1") && v4("127.200.0.9"), "127/8 peers");
  CHECK(!v4("10.0.0.1") && !v4("128.0.0.1") && !v4("0.0.0.0"), "other IPv4 peers");
  CHECK(v6("::1") && v6("::ffff:127.0.0.2"), "::1 and v4-mapped 127/8 peers");
  CHECK(!v6("::") && !v6("::2") && !v6("::ffff:10.0.0.1") && !v6("2001:db8::1"), "other IPv6 peers");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  CHECK(!ae_sockaddr_is_loopback((const struct sockaddr *)&a, sizeof a - 1), "a short address");
  a.sin_family = AF_UNIX;
  CHECK(!ae_sockaddr_is_loopback((const struct sockaddr *)&a, sizeof a), "another family");
  CHECK(!ae_sockaddr_is_loopback(NULL, 0), "no address");
  return CHECK_DONE();
}
