/* Test helper: drives fcntl byte-range locks (POSIX and OFD, blocking or not) on one
 * file from stdin commands, one per line, answering each on stdout. Node has no fcntl.
 *   open rw|ro|append   F_SETLK|F_SETLKW|F_OFD_SETLK|F_OFD_SETLKW r|w|u <start> <len>
 *   getlk|ofd-getlk r|w <start> <len>   close   exit
 * Answers: "ok", "err <errno>", "getlk <u|r|w> <start> <len> <pid>". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static short type_of(const char *t) {
  return t[0] == 'r' ? F_RDLCK : t[0] == 'w' ? F_WRLCK : F_UNLCK;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: lockctl <file>\n");
    return 2;
  }
  int fd = -1;
  char line[256];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    char cmd[32] = "", a[32] = "";
    long long start = 0, len = 0;
    int n = sscanf(line, "%31s %31s %lld %lld", cmd, a, &start, &len);
    if (n < 1) continue;
    if (strcmp(cmd, "exit") == 0) break;
    if (strcmp(cmd, "open") == 0) {
      int flags = strcmp(a, "ro") == 0 ? O_RDONLY : strcmp(a, "append") == 0 ? O_RDWR | O_CREAT | O_APPEND : O_RDWR;
      fd = open(argv[1], flags, 0666);
      if (fd < 0) printf("err %d\n", errno);
      else printf("ok\n");
      continue;
    }
    if (strcmp(cmd, "close") == 0) {
      printf(close(fd) == 0 ? "ok\n" : "err %d\n", errno);
      fd = -1;
      continue;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    fl.l_type = type_of(a);
    int op = -1;
    if (strcmp(cmd, "F_SETLK") == 0) op = F_SETLK;
    if (strcmp(cmd, "F_SETLKW") == 0) op = F_SETLKW;
    if (strcmp(cmd, "F_OFD_SETLK") == 0) op = F_OFD_SETLK;
    if (strcmp(cmd, "F_OFD_SETLKW") == 0) op = F_OFD_SETLKW;
    if (strcmp(cmd, "getlk") == 0) op = F_GETLK;
    if (strcmp(cmd, "ofd-getlk") == 0) op = F_OFD_GETLK;
    if (op < 0) {
      printf("err %d\n", EINVAL);
      continue;
    }
    if (fcntl(fd, op, &fl) != 0) {
      printf("err %d\n", errno);
      continue;
    }
    if (op == F_GETLK || op == F_OFD_GETLK)
      printf("getlk %c %lld %lld %d\n", fl.l_type == F_RDLCK ? 'r' : fl.l_type == F_WRLCK ? 'w' : 'u', (long long)fl.l_start,
             (long long)fl.l_len, (int)fl.l_pid);
    else
      printf("ok\n");
  }
  return 0;
}
