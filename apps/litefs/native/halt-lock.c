/* litefs run -with-halt-lock-on's lock holder: Node has no fcntl. Opens <db>-lock
 * read-write (no create, as litefs-go), takes LiteFS's halt lock (a blocking OFD write
 * lock on byte 72, retried on EINTR), prints "locked", holds it until stdin says
 * "unlock" or closes (the parent died), then unlocks, closes and prints "unlocked".
 * Errors: "error <errno> <text>" on stdout, exit 1. It dies with its parent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int halt_lock(int fd, short type, int cmd) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 72;
  fl.l_len = 1;
  int rc;
  do rc = fcntl(fd, cmd, &fl);
  while (rc < 0 && errno == EINTR);
  return rc;
}

static int fail(const char *what) {
  int err = errno;
  printf("error %d %s: %s\n", err, what, strerror(err));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: halt-lock <database>-lock\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() == 1) return 1;
  int fd = open(argv[1], O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail("open");
  if (halt_lock(fd, F_WRLCK, F_OFD_SETLKW) < 0) return fail("lock");
  printf("locked\n");
  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL && strncmp(line, "unlock", 6) != 0) {
  }
  if (halt_lock(fd, F_UNLCK, F_OFD_SETLK) < 0) return fail("unlock");
  if (close(fd) < 0) return fail("close");
  printf("unlocked\n");
  return 0;
}
