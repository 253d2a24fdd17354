/* platform.c - memory wiping and random bytes on any POSIX system (see platform.h). */
#ifdef __APPLE__
#define __STDC_WANT_LIB_EXT1__ 1 /* memset_s */
#endif
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#ifdef AE_HAVE_GETRANDOM
#include <sys/random.h>
#endif

void ae_wipe(void *p, size_t n) {
  if (!p || !n) return;
#if defined(AE_HAVE_EXPLICIT_BZERO)
  explicit_bzero(p, n);
#elif defined(AE_HAVE_MEMSET_S)
  (void)memset_s(p, n, 0, n);
#else
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
#endif
}

int ae_random_bytes(void *p, size_t n) {
#if defined(AE_HAVE_GETRANDOM)
  unsigned char *b = p;
  while (n > 0) {
    ssize_t got = getrandom(b, n, GRND_NONBLOCK);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    b += got;
    n -= (size_t)got;
  }
  return 0;
#elif defined(AE_HAVE_ARC4RANDOM)
  arc4random_buf(p, n);
  return 0;
#else
  unsigned char *b = p;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t got = read(fd, b, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    b += got;
    n -= (size_t)got;
  }
  close(fd);
  return n == 0 ? 0 : -1;
#endif
}

#ifndef AE_HAVE_SOCK_CLOEXEC
static int set_flags(int fd, int nonblock) {
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) return -1;
  if (nonblock && ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) return -1;
  return 0;
}
#endif

int ae_socket(int family, int type, int protocol, int nonblock) {
#ifdef AE_HAVE_SOCK_CLOEXEC
  return socket(family, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), protocol);
#else
  int fd = socket(family, type, protocol);
  if (fd >= 0 && set_flags(fd, nonblock) < 0) {
    close(fd);
    return -1;
  }
  return fd;
#endif
}

int ae_pipe(int fds[2], int nonblock) {
#ifdef AE_HAVE_SOCK_CLOEXEC
  return pipe2(fds, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
#else
  if (pipe(fds) < 0) return -1;
  if (set_flags(fds[0], nonblock) < 0 || set_flags(fds[1], nonblock) < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  return 0;
#endif
}
