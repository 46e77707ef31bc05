/* wire.c: the page server — starting it, connecting, the request/reply framing, and the
 * state file it publishes the current version in. */
#include "ls.h"

/* ------------------------------------------------------------------ helpers */

void ls_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ls_log(const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "litestream-vfs: %s\n", line);
  fflush(stderr);
}

uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}
uint32_t get32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
uint64_t get64(const unsigned char *p) {
  return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

void decode_state(const unsigned char *p, LsState *s) {
  s->counter = get32(p);
  s->commit = get32(p + 4);
  s->pageSize = get32(p + 8);
  s->flags = get32(p + 12);
  s->txid = get64(p + 16);
  memcpy(s->header, p + 24, 100);
}

/* FNV-1a over the settings that make a server: one server per user and configuration. */
uint64_t fnv(uint64_t h, const char *s) {
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  h ^= 0xff;
  h *= 1099511628211ull;
  return h;
}

int is_setting(const char *e) {
  return strncmp(e, "LITESTREAM_", 11) == 0 || strncmp(e, "AWS_", 4) == 0 || strncmp(e, "SQLREP_VFS_", 11) == 0;
}

int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *env_get(const char *name) {
  size_t n = strlen(name);
  for (char **e = g.env; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

/* ------------------------------------------------------------------ socket I/O */

int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int read_all(int fd, unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t r = recv(fd, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}


void buf_init(Buf *b, int op) {
  b->p = b->small;
  b->cap = sizeof b->small;
  b->n = 5;
  b->p[4] = (unsigned char)op;
}
int buf_room(Buf *b, size_t more) {
  if (b->n + more <= b->cap) return 0;
  size_t cap = (b->n + more) * 2;
  unsigned char *p = b->p == b->small ? malloc(cap) : realloc(b->p, cap);
  if (!p) return -1;
  if (b->p == b->small) memcpy(p, b->small, b->n);
  b->p = p;
  b->cap = cap;
  return 0;
}
int buf_u8(Buf *b, uint8_t v) {
  if (buf_room(b, 1)) return -1;
  b->p[b->n++] = v;
  return 0;
}
int buf_u32(Buf *b, uint32_t v) {
  if (buf_room(b, 4)) return -1;
  put32(b->p + b->n, v);
  b->n += 4;
  return 0;
}
int buf_u64(Buf *b, uint64_t v) {
  if (buf_room(b, 8)) return -1;
  put64(b->p + b->n, v);
  b->n += 8;
  return 0;
}
int buf_bytes(Buf *b, const void *p, size_t n) {
  if (buf_room(b, n)) return -1;
  memcpy(b->p + b->n, p, n);
  b->n += n;
  return 0;
}
int buf_str(Buf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  return buf_u32(b, (uint32_t)n) || buf_bytes(b, s, n);
}
void buf_free(Buf *b) {
  if (b->p != b->small) free(b->p);
}


void reply_free(Reply *r) {
  free(r->data);
  free(r->message);
  memset(r, 0, sizeof *r);
}

/* Sends a request; with `r`, waits for and reads its reply. -1: the connection failed. */
int ls_call(LsFile *f, Buf *b, Reply *r) {
  put32(b->p, (uint32_t)(b->n - 4));
  int failed = write_all(f->fd, b->p, b->n);
  buf_free(b);
  if (failed) goto broken;
  if (!r) return 0;
  memset(r, 0, sizeof *r);
  unsigned char head[5];
  if (read_all(f->fd, head, 5)) goto broken;
  uint32_t n = get32(head) - 1;
  unsigned char *data = malloc(n ? n : 1);
  if (!data) goto broken;
  if (read_all(f->fd, data, n)) {
    free(data);
    goto broken;
  }
  r->status = head[4];
  if (r->status == ST_ERR) {
    r->rc = n >= 8 ? (int)get32(data) : SQLITE_IOERR;
    uint32_t len = n >= 8 ? get32(data + 4) : 0;
    if (len > n - 8) len = n - 8;
    r->message = malloc(len + 1);
    if (r->message) {
      memcpy(r->message, data + 8, len);
      r->message[len] = 0;
    }
    free(data);
  } else {
    r->data = data;
    r->n = n;
  }
  return 0;
broken:
  f->broken = 1;
  return -1;
}

/* ------------------------------------------------------------------ the server */

int try_connect(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, g.sockPath, sizeof addr.sun_path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    /* Only ever talk to a server of our own user. */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == getuid()) return fd;
  }
  close(fd);
  return -1;
}

/* Starts the page server, detached (its own session, no inherited descriptors). */
int spawn_server(void) {
  char *argv[] = {g.node, g.server, (char *)"--socket", g.sockPath, NULL};
  int err = open(g.logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  struct rlimit rl;
  int maxfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
  pid_t pid = fork();
  if (pid < 0) {
    if (err >= 0) close(err);
    return -1;
  }
  if (pid == 0) {
    /* Only async-signal-safe calls from here on: the host may be multi-threaded. */
    setsid();
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(err >= 0 ? err : null, 2);
    if (syscall(SYS_close_range, 3, ~0u, 0) != 0)
      for (int fd = 3; fd < maxfd; fd++) close(fd);
    execve(g.node, argv, g.env);
    _exit(127);
  }
  if (err >= 0) close(err);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

/* A connection to the server; starts one (once, under a file lock) when none answers. */
int ls_connect(void) {
  int fd = try_connect();
  if (fd >= 0) return fd;
  int lock = open(g.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) {
    ls_log("cannot open %s: %s", g.lockPath, strerror(errno));
    return -1;
  }
  while (flock(lock, LOCK_EX) < 0 && errno == EINTR) {
  }
  fd = try_connect();
  if (fd < 0) {
    if (spawn_server() != 0) {
      ls_log("cannot start the page server %s %s: %s", g.node, g.server, strerror(errno));
    } else {
      uint64_t until = now_ms() + LS_START_TIMEOUT_MS;
      while ((fd = try_connect()) < 0 && now_ms() < until) usleep(10000);
      if (fd < 0) ls_log("the page server did not start within %d s (its output is in %s)", LS_START_TIMEOUT_MS / 1000, g.logPath);
    }
  }
  flock(lock, LOCK_UN);
  close(lock);
  return fd;
}

/* Maps the state file the server publishes the current version in (again if it was replaced). */
int ls_map_state(void) {
  int fd = open(g.statePath, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  int rc = 0;
  pthread_mutex_lock(&g.mu);
  if (fstat(fd, &st) == 0 && (g.shm == NULL || st.st_ino != g.shmIno || st.st_dev != g.shmDev)) {
    void *p = mmap(NULL, LS_SHM_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) rc = -1;
    else {
      if (g.shm) munmap(g.shm, LS_SHM_SIZE);
      g.shm = p;
      g.shmIno = st.st_ino;
      g.shmDev = st.st_dev;
    }
  }
  pthread_mutex_unlock(&g.mu);
  close(fd);
  return rc;
}

/* The current version, read consistently (a sequence lock: even and unchanged around the copy). */
int ls_shm_state(LsState *s) {
  if (!g.shm) return -1;
  for (int i = 0; i < 1000000; i++) {
    uint64_t s1 = __atomic_load_n((uint64_t *)g.shm, __ATOMIC_ACQUIRE);
    if (get64((unsigned char *)&s1) & 1) {
      sched_yield();
      continue;
    }
    decode_state(g.shm + LS_SHM_STATE, s);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint64_t s2 = __atomic_load_n((uint64_t *)g.shm, __ATOMIC_ACQUIRE);
    if (s1 == s2) return 0;
  }
  return -1;
}

uint64_t ls_shm_alive(void) {
  return g.shm ? get64(g.shm + LS_SHM_ALIVE) : 0;
}

/* OPEN: a session for this connection. Fills the current version. */
int ls_open_session(LsFile *f, const char *name, int flags, char **message) {
  f->fd = ls_connect();
  if (f->fd < 0) {
    *message = sqlite3_mprintf("cannot reach the page server at %s", g.sockPath);
    return SQLITE_CANTOPEN;
  }
  f->broken = 0;
  Buf b;
  buf_init(&b, OP_OPEN);
  buf_u32(&b, LS_PROTOCOL);
  buf_u32(&b, (uint32_t)flags);
  buf_str(&b, name);
  Reply r;
  if (ls_call(f, &b, &r)) {
    *message = sqlite3_mprintf("the page server at %s closed the connection", g.sockPath);
    close(f->fd);
    f->fd = -1;
    return SQLITE_CANTOPEN;
  }
  if (r.status == ST_ERR) {
    *message = sqlite3_mprintf("%s", r.message ? r.message : "open failed");
    int rc = r.rc;
    reply_free(&r);
    close(f->fd);
    f->fd = -1;
    return rc;
  }
  if (r.n >= LS_STATE_SIZE) decode_state(r.data, &f->snap);
  reply_free(&r);
  if (ls_map_state() != 0) {
    *message = sqlite3_mprintf("cannot map %s: %s", g.statePath, strerror(errno));
    close(f->fd);
    f->fd = -1;
    return SQLITE_CANTOPEN;
  }
  return SQLITE_OK;
}

/* After the server went away: a new session, at the start of a transaction only. */
int ls_reconnect(LsFile *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  char *message = NULL;
  int rc = ls_open_session(f, "reconnect", 0, &message);
  if (rc != SQLITE_OK) {
    ls_log("%s", message ? message : "reconnect failed");
    sqlite3_free(message);
    return rc;
  }
  if (f->hasView) ls_log("reconnected to a new page server: litestream_time is back to latest");
  f->hasView = 0;
  return SQLITE_OK;
}

/* The error of a reply, logged on stderr (SQLite's own message is generic). */
int ls_fail(Reply *r, const char *what) {
  int rc = r->rc ? r->rc : SQLITE_IOERR;
  if ((rc & 0xff) != SQLITE_BUSY) ls_log("%s: %s", what, r->message ? r->message : "error");
  reply_free(r);
  return rc;
}

