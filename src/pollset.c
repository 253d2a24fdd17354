/* pollset.c - one fd mirroring libcurl's socket interest (see pollset.h): an epoll instance on
 * Linux, else a pipe made readable by a helper thread waiting in poll(2) (platform.h decides). */
#include "pollset.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "platform.h"

#ifdef AE_POLLSET_EPOLL
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

#else /* AE_POLLSET_POLL: a helper thread waits in poll(2) and makes a pipe readable */

#include <poll.h>
#include <pthread.h>
#include <string.h>

/* The thread polls the watched set plus the wake pipe. When a watched fd is ready it writes one
 * byte to the ready pipe (the host's fd) and then waits for the next sync, which drains that pipe
 * and hands it the new set: level-triggered as epoll is, and no spinning while the engine has not
 * read what is ready. A generation count under the lock keeps a thread that polled an older set
 * from signalling after a sync; sync also checks the new set itself (poll with timeout 0), so the
 * fd is readable right after a sync whenever a watched fd is ready, as with epoll. */
struct ae_pollset {
  int ready[2];                       /* [0]: the host's fd; [1]: written by the thread */
  int wake[2];                        /* written by sync/forget/free, read by the thread */
  pthread_t thread;
  pthread_mutex_t lock;
  unsigned long gen;                  /* changes at every sync and forget */
  int signaled;                       /* a byte is in ready[] for this generation */
  int quit;
  int n;                              /* watched fds in set[] */
  struct pollfd set[FD_SETSIZE];
  struct pollfd local[FD_SETSIZE + 1]; /* the thread's copy, wake[0] first */
};

static int nonblock_pipe(int p[2]) { return ae_pipe(p, 1); }

static void drain(int fd) {
  char buf[64];
  while (read(fd, buf, sizeof buf) > 0) {
  }
}

static void poke(int fd) {
  ssize_t rc;
  do rc = write(fd, "x", 1);
  while (rc < 0 && errno == EINTR); /* EAGAIN: the pipe holds bytes already, which is enough */
}

static void *watch(void *ud) {
  ae_pollset *ps = ud;
  for (;;) {
    pthread_mutex_lock(&ps->lock);
    if (ps->quit) {
      pthread_mutex_unlock(&ps->lock);
      return NULL;
    }
    unsigned long gen = ps->gen;
    int n = ps->signaled ? 0 : ps->n; /* signalled: only wait for the next sync */
    ps->local[0].fd = ps->wake[0];
    ps->local[0].events = POLLIN;
    memcpy(ps->local + 1, ps->set, (size_t)n * sizeof ps->set[0]);
    pthread_mutex_unlock(&ps->lock);
    if (poll(ps->local, (nfds_t)n + 1, -1) < 0) continue; /* EINTR */
    if (ps->local[0].revents) drain(ps->wake[0]);
    int ready = 0;
    for (int i = 1; i <= n && !ready; i++) ready = ps->local[i].revents != 0;
    if (!ready) continue;
    pthread_mutex_lock(&ps->lock);
    if (ps->gen == gen && !ps->signaled) {
      ps->signaled = 1;
      poke(ps->ready[1]);
    }
    pthread_mutex_unlock(&ps->lock);
  }
}

ae_pollset *ae_pollset_new(void) {
  ae_pollset *ps = calloc(1, sizeof *ps);
  if (!ps) return NULL;
  if (nonblock_pipe(ps->ready) < 0) goto fail_free;
  if (nonblock_pipe(ps->wake) < 0) goto fail_ready;
  if (pthread_mutex_init(&ps->lock, NULL) != 0) goto fail_wake;
  if (pthread_create(&ps->thread, NULL, watch, ps) != 0) goto fail_lock;
  return ps;
fail_lock:
  pthread_mutex_destroy(&ps->lock);
fail_wake:
  close(ps->wake[0]);
  close(ps->wake[1]);
fail_ready:
  close(ps->ready[0]);
  close(ps->ready[1]);
fail_free:
  free(ps);
  return NULL;
}

void ae_pollset_free(ae_pollset *ps) {
  if (!ps) return;
  pthread_mutex_lock(&ps->lock);
  ps->quit = 1;
  pthread_mutex_unlock(&ps->lock);
  poke(ps->wake[1]);
  pthread_join(ps->thread, NULL);
  pthread_mutex_destroy(&ps->lock);
  close(ps->wake[0]);
  close(ps->wake[1]);
  close(ps->ready[0]);
  close(ps->ready[1]);
  free(ps);
}

int ae_pollset_fd(const ae_pollset *ps) { return ps->ready[0]; }

int ae_pollset_sync(ae_pollset *ps, const fd_set *r, const fd_set *w, int maxfd) {
  if (maxfd >= FD_SETSIZE) maxfd = FD_SETSIZE - 1;
  pthread_mutex_lock(&ps->lock);
  int n = 0;
  for (int fd = 0; fd <= maxfd; fd++) {
    short ev = (short)((FD_ISSET(fd, r) ? POLLIN : 0) | (FD_ISSET(fd, w) ? POLLOUT : 0));
    if (!ev) continue;
    ps->set[n].fd = fd;
    ps->set[n].events = ev;
    ps->set[n].revents = 0;
    n++;
  }
  ps->n = n;
  ps->gen++;
  drain(ps->ready[0]);
  ps->signaled = 0;
  if (n > 0 && poll(ps->set, (nfds_t)n, 0) > 0) { /* ready now: readable now */
    ps->signaled = 1;
    poke(ps->ready[1]);
  }
  pthread_mutex_unlock(&ps->lock);
  poke(ps->wake[1]);
  return 0;
}

void ae_pollset_forget(ae_pollset *ps, int fd) {
  pthread_mutex_lock(&ps->lock);
  int found = 0;
  for (int i = 0; i < ps->n; i++) {
    if (ps->set[i].fd != fd) continue;
    ps->set[i] = ps->set[--ps->n];
    found = 1;
    break;
  }
  if (found) ps->gen++;
  pthread_mutex_unlock(&ps->lock);
  if (found) poke(ps->wake[1]);
}

int ae_pollset_count(const ae_pollset *ps) {
  pthread_mutex_t *lock = (pthread_mutex_t *)&ps->lock; /* (a read under the lock) */
  pthread_mutex_lock(lock);
  int n = ps->n;
  pthread_mutex_unlock(lock);
  return n;
}

#endif
