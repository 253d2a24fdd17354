/* test_platform.c - platform.c: wiping, random bytes, close-on-exec descriptors. `make test-poll`
 * builds it again with -DANTHROPIC_FORCE_PORTABLE, so the fallbacks other systems use (volatile
 * stores, /dev/urandom, fcntl after socket and pipe) run here too. */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "platform.h"

static int cloexec(int fd) { return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
static int nonblocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

int main(void) {
  unsigned char buf[64];
  memset(buf, 0xA5, sizeof buf);
  ae_wipe(buf + 8, 32);
  int zeros = 1, kept = 1;
  for (int i = 0; i < 64; i++) {
    if (i >= 8 && i < 40) zeros &= buf[i] == 0;
    else kept &= buf[i] == 0xA5;
  }
  CHECK(zeros, "ae_wipe zeroes the range");
  CHECK(kept, "and nothing around it");
  ae_wipe(NULL, 0); /* nothing to do */

  unsigned char a[32] = {0}, b[32] = {0}, none[32] = {0};
  CHECK(ae_random_bytes(a, sizeof a) == 0 && ae_random_bytes(b, sizeof b) == 0, "random bytes");
  CHECK(memcmp(a, b, sizeof a) != 0, "two draws differ");
  CHECK(memcmp(a, none, sizeof a) != 0, "a draw is not all zeros");

  int p[2];
  CHECK(ae_pipe(p, 0) == 0, "a pipe");
  CHECK(cloexec(p[0]) && cloexec(p[1]), "both ends close on exec");
  CHECK(!nonblocking(p[0]), "blocking when not asked otherwise");
  close(p[0]);
  close(p[1]);
  CHECK(ae_pipe(p, 1) == 0, "a non-blocking pipe");
  CHECK(nonblocking(p[0]) && nonblocking(p[1]) && cloexec(p[0]), "non-blocking and close-on-exec");
  char c;
  CHECK(read(p[0], &c, 1) < 0, "an empty non-blocking pipe does not block");
  close(p[0]);
  close(p[1]);

  int s = ae_socket(AF_INET, SOCK_STREAM, 0, 1);
  CHECK(s >= 0 && cloexec(s) && nonblocking(s), "a non-blocking close-on-exec socket");
  if (s >= 0) close(s);
  s = ae_socket(AF_INET, SOCK_STREAM, 0, 0);
  CHECK(s >= 0 && cloexec(s) && !nonblocking(s), "a blocking close-on-exec socket");
  if (s >= 0) close(s);
  return CHECK_DONE();
}
