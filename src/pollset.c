/* pollset.c - an epoll fd mirroring libcurl's socket interest (see pollset.h). */
#include "pollset.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/epoll.h>

struct ae_pollset {
  int ep;
  int top;                          /* highest fd that may be watched, -1 if none */
  unsigned char mask[FD_SETSIZE];   /* EPOLLIN/EPOLLOUT bits watched per fd (fits: 0x1, 0x4) */
};

ae_pollset *ae_pollset_new(void) {
  ae_pollset *ps = calloc(1, sizeof *ps);
  if (!ps) return NULL;
  ps->ep = epoll_create1(EPOLL_CLOEXEC);
  if (ps->ep < 0) {
    free(ps);
    return NULL;
  }
  ps->top = -1;
  return ps;
}

void ae_pollset_free(ae_pollset *ps) {
  if (!ps) return;
  close(ps->ep);
  free(ps);
}

int ae_pollset_fd(const ae_pollset *ps) { return ps->ep; }

/* A closed socket leaves epoll by itself (the engine also tells us, ae_pollset_forget, since its
 * number may come back as a new socket): so a MOD may find nothing (add it) and an ADD may find
 * it there (modify it); a DEL of a closed one finds nothing, which is what we wanted. */
static int apply(ae_pollset *ps, int fd, unsigned want) {
  struct epoll_event ev = {0};
  ev.events = want;
  ev.data.fd = fd;
  int rc;
  if (!want) {
    rc = epoll_ctl(ps->ep, EPOLL_CTL_DEL, fd, &ev);
    if (rc < 0 && (errno == ENOENT || errno == EBADF)) rc = 0;
  } else if (ps->mask[fd]) {
    rc = epoll_ctl(ps->ep, EPOLL_CTL_MOD, fd, &ev);
    if (rc < 0 && errno == ENOENT) rc = epoll_ctl(ps->ep, EPOLL_CTL_ADD, fd, &ev);
  } else {
    rc = epoll_ctl(ps->ep, EPOLL_CTL_ADD, fd, &ev);
    if (rc < 0 && errno == EEXIST) rc = epoll_ctl(ps->ep, EPOLL_CTL_MOD, fd, &ev);
  }
  if (rc == 0) ps->mask[fd] = (unsigned char)want;
  return rc;
}

int ae_pollset_sync(ae_pollset *ps, const fd_set *r, const fd_set *w, int maxfd) {
  int rc = 0, top = -1;
  if (maxfd >= FD_SETSIZE) maxfd = FD_SETSIZE - 1;
  int last = maxfd > ps->top ? maxfd : ps->top;
  for (int fd = 0; fd <= last; fd++) {
    unsigned want = 0;
    if (fd <= maxfd) {
      if (FD_ISSET(fd, r)) want |= EPOLLIN;
      if (FD_ISSET(fd, w)) want |= EPOLLOUT;
    }
    if (want != ps->mask[fd] && apply(ps, fd, want) < 0) rc = -1;
    if (ps->mask[fd]) top = fd;
  }
  ps->top = top;
  return rc;
}

void ae_pollset_forget(ae_pollset *ps, int fd) {
  if (fd < 0 || fd >= FD_SETSIZE || !ps->mask[fd]) return;
  struct epoll_event ev = {0};
  (void)epoll_ctl(ps->ep, EPOLL_CTL_DEL, fd, &ev);
  ps->mask[fd] = 0;
}

int ae_pollset_count(const ae_pollset *ps) {
  int n = 0;
  for (int fd = 0; fd <= ps->top; fd++) n += ps->mask[fd] != 0;
  return n;
}

#else /* no epoll: hosts fall back to anthropic.poll(0) once per frame */

ae_pollset *ae_pollset_new(void) { return NULL; }
void ae_pollset_free(ae_pollset *ps) { (void)ps; }
int ae_pollset_fd(const ae_pollset *ps) { (void)ps; return -1; }
int ae_pollset_sync(ae_pollset *ps, const fd_set *r, const fd_set *w, int maxfd) {
  (void)ps, (void)r, (void)w, (void)maxfd;
  errno = ENOSYS;
  return -1;
}
void ae_pollset_forget(ae_pollset *ps, int fd) { (void)ps, (void)fd; }
int ae_pollset_count(const ae_pollset *ps) { (void)ps; return 0; }

#endif
