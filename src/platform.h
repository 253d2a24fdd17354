/* platform.h - what differs between POSIX systems, decided here once (no system checks in the .c
 * files): the pollable descriptor's kernel interface, memory wiping and random bytes. Pure C.
 *
 *   AE_POLLSET_EPOLL   Linux: pollset.c mirrors the sockets into an epoll instance
 *   AE_POLLSET_POLL    elsewhere, or with -DANTHROPIC_FORCE_POLL (make test-poll): a helper
 *                      thread waits in poll(2) on the sockets and makes a pipe readable
 *   ae_wipe            explicit_bzero (glibc 2.25+, the BSDs), memset_s (macOS, C11 Annex K),
 *                      else stores through a volatile pointer; never optimised away
 *   ae_random_bytes    getrandom (Linux), arc4random_buf (the BSDs, macOS), else /dev/urandom
 *   ae_socket, ae_pipe close-on-exec descriptors: SOCK_CLOEXEC / pipe2 where the system has them
 *                      (not macOS), else fcntl(FD_CLOEXEC) right after */
#ifndef AE_PLATFORM_H
#define AE_PLATFORM_H

#include <stddef.h>

#if defined(ANTHROPIC_FORCE_POLL) || !defined(__linux__)
#define AE_POLLSET_POLL 1
#else
#define AE_POLLSET_EPOLL 1
#endif

#if defined(__linux__) && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
#define AE_HAVE_EXPLICIT_BZERO 1
#define AE_HAVE_GETRANDOM 1
#elif defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || defined(__DragonFly__)
#define AE_HAVE_EXPLICIT_BZERO 1
#define AE_HAVE_ARC4RANDOM 1
#elif defined(__APPLE__)
#define AE_HAVE_MEMSET_S 1
#define AE_HAVE_ARC4RANDOM 1
#endif
#ifdef ANTHROPIC_FORCE_PORTABLE /* the fallbacks, tested on Linux (make test-poll) */
#undef AE_HAVE_EXPLICIT_BZERO
#undef AE_HAVE_MEMSET_S
#undef AE_HAVE_GETRANDOM
#undef AE_HAVE_ARC4RANDOM
#endif

#if (defined(__linux__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
     defined(__DragonFly__)) && !defined(ANTHROPIC_FORCE_PORTABLE)
#define AE_HAVE_SOCK_CLOEXEC 1 /* SOCK_CLOEXEC and pipe2 */
#endif

/* socket(2) and pipe(2) with close-on-exec set (and O_NONBLOCK too when nonblock). -> as theirs */
int ae_socket(int family, int type, int protocol, int nonblock);
int ae_pipe(int fds[2], int nonblock);

/* Overwrite n bytes at p with zeros, in a way the compiler keeps. */
void ae_wipe(void *p, size_t n);

/* Fill p with n bytes from the system's random source. -> 0, or -1 when it gave none. */
int ae_random_bytes(void *p, size_t n);

#endif
