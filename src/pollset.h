/* pollset.h - one pollable file descriptor standing for a changing set of sockets.
 * An epoll instance kept equal to the read/write interest libcurl reports (curl_multi_fdset):
 * it is readable whenever one of the sockets is ready, so a host's own event loop can wait on
 * this single fd (the cqueues "pollable" convention) and then step the engine. Pure C: no Lua,
 * no libcurl. On Linux an epoll instance; elsewhere (or built with -DANTHROPIC_FORCE_POLL) the
 * read end of a pipe that a helper thread, waiting in poll(2) on the sockets, makes readable
 * (platform.h chooses). */
#ifndef AE_POLLSET_H
#define AE_POLLSET_H

#include <sys/select.h>

typedef struct ae_pollset ae_pollset;

ae_pollset *ae_pollset_new(void);
void ae_pollset_free(ae_pollset *ps);   /* NULL is fine */
int ae_pollset_fd(const ae_pollset *ps);

/* Watch exactly the descriptors set in `r` (readable) and `w` (writable) among 0..maxfd
 * (maxfd -1: none). Returns 0, or -1 when the kernel refused a change (errno set). */
int ae_pollset_sync(ae_pollset *ps, const fd_set *r, const fd_set *w, int maxfd);

/* The descriptor is being closed: forget it (its number may come back as another socket,
 * which a later sync must add afresh). Call it before close(). */
void ae_pollset_forget(ae_pollset *ps, int fd);

/* Number of descriptors watched. */
int ae_pollset_count(const ae_pollset *ps);

#endif
