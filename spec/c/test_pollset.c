/* test_pollset.c - the mirror of a socket set: readable exactly when a watched fd is. Built twice:
 * as is (epoll on Linux) and with -DANTHROPIC_FORCE_POLL (the poll(2) thread of other systems). */
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "platform.h"
#include "pollset.h"

static int readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Data written to a watched fd after a sync: epoll is readable at once; the poll(2) thread makes
 * its pipe readable when it wakes, so wait for that (the event, at most 5 s: never a sleep). */
static int becomes_readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 5000) == 1 && (p.revents & POLLIN);
}

int main(void) {
  ae_pollset *ps = ae_pollset_new();
  CHECK(ps != NULL, "a pollset");
  if (!ps) return CHECK_DONE();
  int ep = ae_pollset_fd(ps);
  struct stat st;
  CHECK(fstat(ep, &st) == 0, "fstat");
#ifdef AE_POLLSET_POLL
  CHECK(S_ISFIFO(st.st_mode), "the poll(2) variant's fd is a pipe");
#else
  CHECK(!S_ISFIFO(st.st_mode), "the epoll variant's fd is an epoll instance, not a pipe");
#endif
  int a[2], b[2];
  CHECK(pipe(a) == 0 && pipe(b) == 0, "pipes");
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(a[0], &r);
  CHECK(ae_pollset_sync(ps, &r, &w, a[0]) == 0, "watch one fd for reading");
  CHECK(ae_pollset_count(ps) == 1, "one fd watched");
  CHECK(!readable(ep), "nothing ready: the pollset is not readable");
  CHECK(write(a[1], "x", 1) == 1, "write");
  CHECK(becomes_readable(ep), "data on a watched fd: the pollset is readable");
  CHECK(ae_pollset_sync(ps, &r, &w, a[0]) == 0, "the same set again (the engine did not read)");
  CHECK(readable(ep), "still ready: still readable, right after the sync (level-triggered)");
  FD_CLR(a[0], &r);
  FD_SET(b[0], &r);
  FD_SET(b[1], &w);
  int maxfd = b[0] > b[1] ? b[0] : b[1];
  CHECK(ae_pollset_sync(ps, &r, &w, maxfd) == 0, "swap the watched set");
  CHECK(ae_pollset_count(ps) == 2, "two fds watched");
  CHECK(readable(ep), "a pipe's write end is writable, and that is watched");
  FD_CLR(b[1], &w);
  CHECK(ae_pollset_sync(ps, &r, &w, maxfd) == 0, "drop the writable one");
  CHECK(!readable(ep), "a[0] has data but is no longer watched; b[0] is empty");
  /* a watched fd closed and its number reused: still tracked correctly */
  int old = b[0];
  ae_pollset_forget(ps, b[0]); /* as the engine does from libcurl's close-socket callback */
  close(b[0]);
  close(b[1]);
  int c[2];
  CHECK(pipe(c) == 0, "pipe again");
  CHECK(c[0] == old, "the number comes back (lowest free descriptor)");
  FD_ZERO(&r);
  FD_SET(c[0], &r);
  CHECK(ae_pollset_sync(ps, &r, &w, c[0]) == 0, "watch a reused number");
  CHECK(write(c[1], "y", 1) == 1, "write");
  CHECK(becomes_readable(ep), "the reused number is watched");
  FD_ZERO(&r);
  CHECK(ae_pollset_sync(ps, &r, &w, -1) == 0, "watch nothing");
  CHECK(ae_pollset_count(ps) == 0, "none watched");
  CHECK(!readable(ep), "nothing watched: not readable");
  close(a[0]);
  close(a[1]);
  close(c[0]);
  close(c[1]);
  ae_pollset_free(ps);
  ae_pollset_free(NULL);
  return CHECK_DONE();
}
