/*
 * litestream-vfs.so: a thin SQLite VFS shim. It registers the VFS "litestream" and
 * forwards the main database file's open/read/size/lock/file-control/write/sync to the
 * TypeScript page server (apps/vfs/dist/server.js) over a Unix socket, starting the
 * server when none runs. All replication logic lives in the server; this file only
 * moves bytes, keeps the lock level, and reads the current version from a state file
 * the server keeps up to date, so a read transaction whose pages SQLite has cached
 * costs no round trip at all.
 *
 * Wire format (big-endian): request = u32 length, u8 op, payload; reply = u32 length,
 * u8 status (0 ok, 1 error: u32 SQLite code + string, 2 short read), payload. Strings
 * are u32 length + bytes. See apps/vfs/src/protocol.ts for the same thing in TypeScript.
 */
#define _GNU_SOURCE
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SQLREP_NODE_PATH
#define SQLREP_NODE_PATH "node"
#endif

#define LS_PROTOCOL 1
#define LS_STATE_SIZE 124
#define LS_SHM_SIZE 4096
#define LS_SHM_STATE 8
#define LS_SHM_ALIVE 136
#define LS_FLAG_TIME_TRAVEL 1u
#define LS_START_TIMEOUT_MS 30000
#define LS_HEARTBEAT_STALE_MS 5000

enum { OP_OPEN = 1, OP_READ, OP_LOCK, OP_UNLOCK, OP_WRITE, OP_SYNC, OP_TRUNCATE, OP_FILESIZE, OP_PRAGMA, OP_RELEASE, OP_PING, OP_CLOSE };
enum { ST_OK = 0, ST_ERR = 1, ST_SHORT = 2 };
enum { KIND_DELEGATE = 0, KIND_MAIN = 1, KIND_MEMORY = 2 };

extern char **environ;

/* The version a read transaction sees: what the server's ViewState carries. */
typedef struct LsState {
  uint32_t counter, commit, pageSize, flags;
  uint64_t txid;
  unsigned char header[100];
} LsState;

/* A journal held in memory: it never outlives the process, so no stale hot journal can
 * ever be rolled back into a replica. */
typedef struct MemData {
  char *name;
  unsigned char *buf;
  sqlite3_int64 size, cap;
  int refs, deleted;
  struct MemData *next;
} MemData;

typedef struct LsFile {
  sqlite3_file base;
  int kind;
  /* main database */
  int fd;
  int lock;
  int pinned;   /* the server holds a pin for this read transaction */
  int broken;   /* the connection to the server failed: reconnect at the next transaction */
  LsState snap; /* the version of the current transaction */
  int hasView;  /* time travel: the connection's own version */
  LsState view;
  sqlite3_int64 wsize; /* database size inside a write transaction */
  /* memory journal */
  MemData *mem;
} LsFile;

static struct {
  int initialized;
  char **env; /* the environment at load: the server's configuration */
  char runtimeDir[256];
  char key[17];
  char sockPath[108], statePath[320], lockPath[320], logPath[320];
  char server[PATH_MAX + 32], node[PATH_MAX + 8];
  sqlite3_vfs *parent;
  unsigned char *shm;
  dev_t shmDev;
  ino_t shmIno;
  MemData *mems;
  pthread_mutex_t mu;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const sqlite3_io_methods ls_main_methods;
static const sqlite3_io_methods ls_mem_methods;

/* ------------------------------------------------------------------ helpers */

static void ls_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ls_log(const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "litestream-vfs: %s\n", line);
  fflush(stderr);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}
static uint32_t get32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t get64(const unsigned char *p) {
  return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static void decode_state(const unsigned char *p, LsState *s) {
  s->counter = get32(p);
  s->commit = get32(p + 4);
  s->pageSize = get32(p + 8);
  s->flags = get32(p + 12);
  s->txid = get64(p + 16);
  memcpy(s->header, p + 24, 100);
}

/* FNV-1a over the settings that make a server: one server per user and configuration. */
static uint64_t fnv(uint64_t h, const char *s) {
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  h ^= 0xff;
  h *= 1099511628211ull;
  return h;
}

static int is_setting(const char *e) {
  return strncmp(e, "LITESTREAM_", 11) == 0 || strncmp(e, "AWS_", 4) == 0 || strncmp(e, "SQLREP_VFS_", 11) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *env_get(const char *name) {
  size_t n = strlen(name);
  for (char **e = g.env; e && *e; e++)
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

/* ------------------------------------------------------------------ socket I/O */

static int write_all(int fd, const unsigned char *p, size_t n) {
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

static int read_all(int fd, unsigned char *p, size_t n) {
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

/* A growable request buffer. */
typedef struct Buf {
  unsigned char *p;
  size_t n, cap;
  unsigned char small[256];
} Buf;

static void buf_init(Buf *b, int op) {
  b->p = b->small;
  b->cap = sizeof b->small;
  b->n = 5;
  b->p[4] = (unsigned char)op;
}
static int buf_room(Buf *b, size_t more) {
  if (b->n + more <= b->cap) return 0;
  size_t cap = (b->n + more) * 2;
  unsigned char *p = b->p == b->small ? malloc(cap) : realloc(b->p, cap);
  if (!p) return -1;
  if (b->p == b->small) memcpy(p, b->small, b->n);
  b->p = p;
  b->cap = cap;
  return 0;
}
static int buf_u8(Buf *b, uint8_t v) {
  if (buf_room(b, 1)) return -1;
  b->p[b->n++] = v;
  return 0;
}
static int buf_u32(Buf *b, uint32_t v) {
  if (buf_room(b, 4)) return -1;
  put32(b->p + b->n, v);
  b->n += 4;
  return 0;
}
static int buf_u64(Buf *b, uint64_t v) {
  if (buf_room(b, 8)) return -1;
  put64(b->p + b->n, v);
  b->n += 8;
  return 0;
}
static int buf_bytes(Buf *b, const void *p, size_t n) {
  if (buf_room(b, n)) return -1;
  memcpy(b->p + b->n, p, n);
  b->n += n;
  return 0;
}
static int buf_str(Buf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  return buf_u32(b, (uint32_t)n) || buf_bytes(b, s, n);
}
static void buf_free(Buf *b) {
  if (b->p != b->small) free(b->p);
}

/* A reply: status, SQLite code and message on error, payload otherwise. */
typedef struct Reply {
  int status;
  int rc;
  unsigned char *data;
  uint32_t n;
  char *message;
} Reply;

static void reply_free(Reply *r) {
  free(r->data);
  free(r->message);
  memset(r, 0, sizeof *r);
}

/* Sends a request; with `r`, waits for and reads its reply. -1: the connection failed. */
static int ls_call(LsFile *f, Buf *b, Reply *r) {
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

static int try_connect(void) {
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
static int spawn_server(void) {
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
static int ls_connect(void) {
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
static int ls_map_state(void) {
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
static int ls_shm_state(LsState *s) {
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

static uint64_t ls_shm_alive(void) {
  return g.shm ? get64(g.shm + LS_SHM_ALIVE) : 0;
}

/* OPEN: a session for this connection. Fills the current version. */
static int ls_open_session(LsFile *f, const char *name, int flags, char **message) {
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
static int ls_reconnect(LsFile *f) {
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
static int ls_fail(Reply *r, const char *what) {
  int rc = r->rc ? r->rc : SQLITE_IOERR;
  if ((rc & 0xff) != SQLITE_BUSY) ls_log("%s: %s", what, r->message ? r->message : "error");
  reply_free(r);
  return rc;
}

/* ------------------------------------------------------------------ main database file */

static int ls_close(sqlite3_file *pf) {
  LsFile *f = (LsFile *)pf;
  if (f->fd >= 0) {
    Buf b;
    buf_init(&b, OP_CLOSE);
    ls_call(f, &b, NULL);
    close(f->fd);
  }
  f->fd = -1;
  return SQLITE_OK;
}

/* The version a read outside any lock sees (the header read at open): the newest. */
static void ls_current(LsFile *f, LsState *s) {
  if (f->hasView) *s = f->view;
  else if (ls_shm_state(s) != 0) *s = f->snap;
}

static int ls_read(sqlite3_file *pf, void *out, int amt, sqlite3_int64 off) {
  LsFile *f = (LsFile *)pf;
  LsState now;
  const LsState *s = &f->snap;
  if (f->lock == SQLITE_LOCK_NONE) {
    ls_current(f, &now);
    s = &now;
  }
  sqlite3_int64 size = (sqlite3_int64)s->commit * s->pageSize;
  /* The header (and the 16 bytes SQLite re-reads at each transaction) comes with the version. */
  if (f->lock < SQLITE_LOCK_RESERVED && off + amt <= 100) {
    if (size == 0) {
      memset(out, 0, (size_t)amt);
      return SQLITE_IOERR_SHORT_READ;
    }
    memcpy(out, s->header + off, (size_t)amt);
    return SQLITE_OK;
  }
  if (f->broken) return SQLITE_IOERR_READ;
  Buf b;
  buf_init(&b, OP_READ);
  buf_u32(&b, s->counter);
  buf_u64(&b, (uint64_t)off);
  buf_u32(&b, (uint32_t)amt);
  Reply r;
  if (ls_call(f, &b, &r)) {
    ls_log("read of %d bytes at offset %lld: the page server closed the connection", amt, (long long)off);
    return SQLITE_IOERR_READ;
  }
  if (r.status == ST_ERR) return ls_fail(&r, "read");
  f->pinned = f->lock != SQLITE_LOCK_NONE;
  memcpy(out, r.data, r.n < (uint32_t)amt ? r.n : (uint32_t)amt);
  if (r.n < (uint32_t)amt) memset((char *)out + r.n, 0, (size_t)amt - r.n);
  int rc = r.status == ST_SHORT ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
  reply_free(&r);
  return rc;
}

static int ls_write(sqlite3_file *pf, const void *data, int amt, sqlite3_int64 off) {
  LsFile *f = (LsFile *)pf;
  if (f->lock < SQLITE_LOCK_RESERVED) return SQLITE_READONLY;
  if (f->broken) return SQLITE_IOERR_WRITE;
  Buf b;
  buf_init(&b, OP_WRITE);
  buf_u64(&b, (uint64_t)off);
  if (buf_bytes(&b, data, (size_t)amt)) return SQLITE_NOMEM;
  if (ls_call(f, &b, NULL)) return SQLITE_IOERR_WRITE;
  if (off + amt > f->wsize) f->wsize = off + amt;
  return SQLITE_OK;
}

static int ls_truncate(sqlite3_file *pf, sqlite3_int64 size) {
  LsFile *f = (LsFile *)pf;
  if (f->lock < SQLITE_LOCK_RESERVED) return SQLITE_READONLY;
  Buf b;
  buf_init(&b, OP_TRUNCATE);
  buf_u64(&b, (uint64_t)size);
  if (ls_call(f, &b, NULL)) return SQLITE_IOERR_TRUNCATE;
  f->wsize = size;
  return SQLITE_OK;
}

/* A reply carrying a version becomes the transaction's version. */
static int ls_state_call(LsFile *f, int op, int level, int errcode, const char *what) {
  if (f->broken) return errcode;
  Buf b;
  buf_init(&b, op);
  if (op == OP_UNLOCK) buf_u8(&b, (uint8_t)level);
  Reply r;
  if (ls_call(f, &b, &r)) {
    ls_log("%s: the page server closed the connection", what);
    return errcode;
  }
  if (r.status == ST_ERR) return ls_fail(&r, what);
  if (r.n >= LS_STATE_SIZE) decode_state(r.data, &f->snap);
  reply_free(&r);
  return SQLITE_OK;
}

static int ls_sync(sqlite3_file *pf, int flags) {
  (void)flags;
  LsFile *f = (LsFile *)pf;
  if (f->lock < SQLITE_LOCK_RESERVED) return SQLITE_OK;
  return ls_state_call(f, OP_SYNC, 0, SQLITE_IOERR_FSYNC, "commit");
}

static int ls_file_size(sqlite3_file *pf, sqlite3_int64 *size) {
  LsFile *f = (LsFile *)pf;
  if (f->lock >= SQLITE_LOCK_RESERVED) {
    *size = f->wsize;
    return SQLITE_OK;
  }
  LsState now;
  const LsState *s = &f->snap;
  if (f->lock == SQLITE_LOCK_NONE) {
    ls_current(f, &now);
    s = &now;
  }
  *size = (sqlite3_int64)s->commit * s->pageSize;
  return SQLITE_OK;
}

static int ls_lock(sqlite3_file *pf, int level) {
  LsFile *f = (LsFile *)pf;
  if (level <= f->lock) return SQLITE_OK;
  if (f->lock == SQLITE_LOCK_NONE) {
    /* A read transaction starts: take the newest version (or this connection's point in time). */
    if (f->broken && ls_reconnect(f) != SQLITE_OK) return SQLITE_IOERR_LOCK;
    if (!f->hasView) {
      uint64_t alive = ls_shm_alive();
      if (alive == 0 || now_ms() > alive + LS_HEARTBEAT_STALE_MS) {
        /* The server stopped (0) or stopped updating its state: make sure it is still there. */
        Buf b;
        buf_init(&b, OP_PING);
        Reply r;
        if (ls_call(f, &b, &r) || r.status != ST_OK) {
          reply_free(&r);
          if (ls_reconnect(f) != SQLITE_OK) return SQLITE_IOERR_LOCK;
        } else reply_free(&r);
      }
    }
    ls_current(f, &f->snap);
    f->pinned = 0;
    f->lock = SQLITE_LOCK_SHARED;
    if (level == SQLITE_LOCK_SHARED) return SQLITE_OK;
  }
  if (level >= SQLITE_LOCK_RESERVED && f->lock < SQLITE_LOCK_RESERVED) {
    if (f->broken) return SQLITE_IOERR_LOCK;
    Buf b;
    buf_init(&b, OP_LOCK);
    buf_u8(&b, SQLITE_LOCK_RESERVED);
    buf_u32(&b, f->snap.counter);
    Reply r;
    if (ls_call(f, &b, &r)) return SQLITE_IOERR_LOCK;
    if (r.status == ST_ERR) return ls_fail(&r, "write lock");
    reply_free(&r);
    f->wsize = (sqlite3_int64)f->snap.commit * f->snap.pageSize;
    f->pinned = 1;
  }
  f->lock = level;
  return SQLITE_OK;
}

static int ls_unlock(sqlite3_file *pf, int level) {
  LsFile *f = (LsFile *)pf;
  if (level >= f->lock) return SQLITE_OK;
  int rc = SQLITE_OK;
  if (f->lock >= SQLITE_LOCK_RESERVED && level < SQLITE_LOCK_RESERVED) {
    /* Leaving a write transaction: what it wrote becomes a local commit. */
    rc = ls_state_call(f, OP_UNLOCK, level, SQLITE_IOERR_UNLOCK, "commit");
    f->pinned = level == SQLITE_LOCK_SHARED;
  } else if (level == SQLITE_LOCK_NONE && f->pinned && !f->broken) {
    Buf b;
    buf_init(&b, OP_RELEASE);
    ls_call(f, &b, NULL);
    f->pinned = 0;
  }
  f->lock = level;
  return rc;
}

static int ls_check_reserved(sqlite3_file *pf, int *out) {
  (void)pf;
  *out = 0;
  return SQLITE_OK;
}

/* PRAGMA litestream_* (and the SQL functions): answered by the server for this connection. */
static int ls_pragma(LsFile *f, const char *name, const char *value, char **result) {
  if (f->broken && ls_reconnect(f) != SQLITE_OK) {
    *result = sqlite3_mprintf("the page server is not reachable");
    return SQLITE_ERROR;
  }
  Buf b;
  buf_init(&b, OP_PRAGMA);
  buf_str(&b, name);
  buf_u8(&b, value != NULL);
  buf_str(&b, value);
  Reply r;
  if (ls_call(f, &b, &r)) {
    *result = sqlite3_mprintf("the page server closed the connection");
    return SQLITE_ERROR;
  }
  if (r.status == ST_ERR) {
    *result = sqlite3_mprintf("%s", r.message ? r.message : "error");
    reply_free(&r);
    return SQLITE_ERROR;
  }
  int rc = SQLITE_OK;
  const unsigned char *p = r.data;
  uint32_t kind = r.n >= 1 ? p[0] : 0;
  uint32_t len = r.n >= 5 ? get32(p + 1) : 0;
  if (5 + len > r.n) len = 0;
  if (kind == 0) rc = SQLITE_NOTFOUND;
  else if (kind == 1) *result = sqlite3_mprintf("%.*s", (int)len, (const char *)p + 5);
  uint32_t at = 5 + len;
  if (at < r.n && p[at] == 1 && at + 1 + LS_STATE_SIZE <= r.n) {
    LsState s;
    decode_state(p + at + 1, &s);
    f->hasView = (s.flags & LS_FLAG_TIME_TRAVEL) != 0;
    if (f->hasView) f->view = s;
  }
  reply_free(&r);
  return rc;
}

static int ls_file_control(sqlite3_file *pf, int op, void *arg) {
  LsFile *f = (LsFile *)pf;
  if (op == SQLITE_FCNTL_PRAGMA) {
    char **a = (char **)arg;
    if (a[1] == NULL || strncasecmp(a[1], "litestream_", 11) != 0) return SQLITE_NOTFOUND;
    return ls_pragma(f, a[1], a[2], &a[0]);
  }
  return SQLITE_NOTFOUND;
}

static int ls_sector_size(sqlite3_file *pf) {
  (void)pf;
  return 4096;
}

static int ls_device_characteristics(sqlite3_file *pf) {
  (void)pf;
  return 0;
}

static const sqlite3_io_methods ls_main_methods = {
    .iVersion = 1,
    .xClose = ls_close,
    .xRead = ls_read,
    .xWrite = ls_write,
    .xTruncate = ls_truncate,
    .xSync = ls_sync,
    .xFileSize = ls_file_size,
    .xLock = ls_lock,
    .xUnlock = ls_unlock,
    .xCheckReservedLock = ls_check_reserved,
    .xFileControl = ls_file_control,
    .xSectorSize = ls_sector_size,
    .xDeviceCharacteristics = ls_device_characteristics,
};

/* ------------------------------------------------------------------ memory journals */

static MemData *mem_find(const char *name) {
  for (MemData *m = g.mems; m; m = m->next)
    if (strcmp(m->name, name) == 0) return m;
  return NULL;
}

static void mem_unlink(MemData *m) {
  for (MemData **pp = &g.mems; *pp; pp = &(*pp)->next)
    if (*pp == m) {
      *pp = m->next;
      break;
    }
}

static int mem_close(sqlite3_file *pf) {
  LsFile *f = (LsFile *)pf;
  pthread_mutex_lock(&g.mu);
  MemData *m = f->mem;
  if (m && --m->refs == 0 && m->deleted) {
    free(m->buf);
    free(m->name);
    free(m);
  }
  pthread_mutex_unlock(&g.mu);
  f->mem = NULL;
  return SQLITE_OK;
}

static int mem_read(sqlite3_file *pf, void *out, int amt, sqlite3_int64 off) {
  MemData *m = ((LsFile *)pf)->mem;
  if (off >= m->size) {
    memset(out, 0, (size_t)amt);
    return SQLITE_IOERR_SHORT_READ;
  }
  sqlite3_int64 n = m->size - off < amt ? m->size - off : amt;
  memcpy(out, m->buf + off, (size_t)n);
  if (n < amt) {
    memset((char *)out + n, 0, (size_t)(amt - n));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

static int mem_write(sqlite3_file *pf, const void *data, int amt, sqlite3_int64 off) {
  MemData *m = ((LsFile *)pf)->mem;
  if (off + amt > m->cap) {
    sqlite3_int64 cap = (off + amt) * 2;
    unsigned char *p = realloc(m->buf, (size_t)cap);
    if (!p) return SQLITE_IOERR_NOMEM;
    memset(p + m->cap, 0, (size_t)(cap - m->cap));
    m->buf = p;
    m->cap = cap;
  }
  memcpy(m->buf + off, data, (size_t)amt);
  if (off + amt > m->size) m->size = off + amt;
  return SQLITE_OK;
}

static int mem_truncate(sqlite3_file *pf, sqlite3_int64 size) {
  MemData *m = ((LsFile *)pf)->mem;
  if (size < m->size) m->size = size;
  return SQLITE_OK;
}

static int mem_sync(sqlite3_file *pf, int flags) {
  (void)pf;
  (void)flags;
  return SQLITE_OK;
}

static int mem_file_size(sqlite3_file *pf, sqlite3_int64 *size) {
  *size = ((LsFile *)pf)->mem->size;
  return SQLITE_OK;
}

static int mem_lock(sqlite3_file *pf, int level) {
  (void)pf;
  (void)level;
  return SQLITE_OK;
}

static int mem_file_control(sqlite3_file *pf, int op, void *arg) {
  (void)pf;
  (void)op;
  (void)arg;
  return SQLITE_NOTFOUND;
}

static const sqlite3_io_methods ls_mem_methods = {
    .iVersion = 1,
    .xClose = mem_close,
    .xRead = mem_read,
    .xWrite = mem_write,
    .xTruncate = mem_truncate,
    .xSync = mem_sync,
    .xFileSize = mem_file_size,
    .xLock = mem_lock,
    .xUnlock = mem_lock,
    .xCheckReservedLock = ls_check_reserved,
    .xFileControl = mem_file_control,
    .xSectorSize = ls_sector_size,
    .xDeviceCharacteristics = ls_device_characteristics,
};

/* ------------------------------------------------------------------ the VFS */

static int is_journal(const char *name) {
  size_t n = name ? strlen(name) : 0;
  return (n > 8 && strcmp(name + n - 8, "-journal") == 0) || (n > 4 && strcmp(name + n - 4, "-wal") == 0);
}

static int ls_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *outFlags) {
  (void)vfs;
  LsFile *f = (LsFile *)pf;
  if (flags & SQLITE_OPEN_MAIN_DB) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    char *message = NULL;
    int rc = ls_open_session(f, name ? name : "", flags, &message);
    if (rc != SQLITE_OK) {
      ls_log("cannot open %s: %s", name ? name : "(temp)", message ? message : "error");
      sqlite3_free(message);
      return rc;
    }
    f->kind = KIND_MAIN;
    f->base.pMethods = &ls_main_methods;
    if (outFlags) *outFlags = flags;
    return SQLITE_OK;
  }
  if ((flags & SQLITE_OPEN_MAIN_JOURNAL) && name) {
    memset(f, 0, sizeof *f);
    pthread_mutex_lock(&g.mu);
    MemData *m = mem_find(name);
    if (!m) {
      m = calloc(1, sizeof *m);
      if (m) m->name = strdup(name);
      if (!m || !m->name) {
        free(m);
        pthread_mutex_unlock(&g.mu);
        return SQLITE_NOMEM;
      }
      m->next = g.mems;
      g.mems = m;
    }
    m->refs++;
    pthread_mutex_unlock(&g.mu);
    f->kind = KIND_MEMORY;
    f->mem = m;
    f->base.pMethods = &ls_mem_methods;
    if (outFlags) *outFlags = flags;
    return SQLITE_OK;
  }
  if (flags & SQLITE_OPEN_WAL) return SQLITE_CANTOPEN;
  /* Temporary databases, statement journals, …: the default VFS. */
  return g.parent->xOpen(g.parent, name, pf, flags, outFlags);
}

static int ls_delete(sqlite3_vfs *vfs, const char *name, int syncDir) {
  (void)vfs;
  if (is_journal(name)) {
    pthread_mutex_lock(&g.mu);
    MemData *m = mem_find(name);
    if (m) {
      mem_unlink(m);
      m->deleted = 1;
      if (m->refs == 0) {
        free(m->buf);
        free(m->name);
        free(m);
      } else m->size = 0;
    }
    pthread_mutex_unlock(&g.mu);
    return SQLITE_OK;
  }
  return g.parent->xDelete(g.parent, name, syncDir);
}

static int ls_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  (void)vfs;
  /* No journal is ever "hot": journals live in memory and die with their process. */
  if (is_journal(name)) {
    *out = 0;
    return SQLITE_OK;
  }
  return g.parent->xAccess(g.parent, name, flags, out);
}

static int ls_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  return g.parent->xFullPathname(g.parent, name, n, out);
}
static void *ls_dlopen(sqlite3_vfs *vfs, const char *name) {
  (void)vfs;
  return g.parent->xDlOpen(g.parent, name);
}
static void ls_dlerror(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  g.parent->xDlError(g.parent, n, out);
}
static void (*ls_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
  (void)vfs;
  return g.parent->xDlSym(g.parent, h, sym);
}
static void ls_dlclose(sqlite3_vfs *vfs, void *h) {
  (void)vfs;
  g.parent->xDlClose(g.parent, h);
}
static int ls_randomness(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return g.parent->xRandomness(g.parent, n, out);
}
static int ls_sleep(sqlite3_vfs *vfs, int us) {
  (void)vfs;
  return g.parent->xSleep(g.parent, us);
}
static int ls_current_time(sqlite3_vfs *vfs, double *out) {
  (void)vfs;
  return g.parent->xCurrentTime(g.parent, out);
}
static int ls_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return g.parent->xGetLastError ? g.parent->xGetLastError(g.parent, n, out) : 0;
}
static int ls_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
  (void)vfs;
  return g.parent->xCurrentTimeInt64(g.parent, out);
}

static sqlite3_vfs ls_vfs = {
    .iVersion = 2,
    .mxPathname = 1024,
    .zName = "litestream",
    .xOpen = ls_open,
    .xDelete = ls_delete,
    .xAccess = ls_access,
    .xFullPathname = ls_full_pathname,
    .xDlOpen = ls_dlopen,
    .xDlError = ls_dlerror,
    .xDlSym = ls_dlsym,
    .xDlClose = ls_dlclose,
    .xRandomness = ls_randomness,
    .xSleep = ls_sleep,
    .xCurrentTime = ls_current_time,
    .xGetLastError = ls_get_last_error,
    .xCurrentTimeInt64 = ls_current_time_int64,
};

/* ------------------------------------------------------------------ the router */

/*
 * better-sqlite3 is built with SQLITE_USE_URI=0 and opens without SQLITE_OPEN_URI, so
 * `new Database("file:app.db?vfs=litestream")` reaches the default VFS as a plain file
 * name. The router stands in for the default VFS under its own name and passes every
 * call straight through, except for names that carry `vfs=litestream` in that literal
 * form, which go to the litestream VFS. Hosts that parse URIs never send such names.
 */
static sqlite3_vfs ls_router;

static int ls_routed(const char *name) {
  for (const char *p = name; p && (p = strstr(p, "vfs=litestream")) != NULL; p += 14) {
    char before = p == name ? 0 : p[-1];
    char after = p[14];
    if ((before == '?' || before == '&') && (after == 0 || after == '&' || after == '-')) return 1;
  }
  return 0;
}

static int router_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *outFlags) {
  if (ls_routed(name)) return ls_open(&ls_vfs, name, pf, flags, outFlags);
  (void)vfs;
  return g.parent->xOpen(g.parent, name, pf, flags, outFlags);
}

static int router_delete(sqlite3_vfs *vfs, const char *name, int syncDir) {
  if (ls_routed(name)) return ls_delete(&ls_vfs, name, syncDir);
  (void)vfs;
  return g.parent->xDelete(g.parent, name, syncDir);
}

static int router_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  if (ls_routed(name)) return ls_access(&ls_vfs, name, flags, out);
  (void)vfs;
  return g.parent->xAccess(g.parent, name, flags, out);
}

/* Every other method of the parent is called with the parent itself. */
#define ROUTE(ret, method, params, args) \
  static ret router_##method params { (void)vfs; return g.parent->method args; }
ROUTE(int, xFullPathname, (sqlite3_vfs * vfs, const char *name, int n, char *out), (g.parent, name, n, out))
ROUTE(void *, xDlOpen, (sqlite3_vfs * vfs, const char *name), (g.parent, name))
ROUTE(int, xRandomness, (sqlite3_vfs * vfs, int n, char *out), (g.parent, n, out))
ROUTE(int, xSleep, (sqlite3_vfs * vfs, int us), (g.parent, us))
ROUTE(int, xCurrentTime, (sqlite3_vfs * vfs, double *out), (g.parent, out))
ROUTE(int, xGetLastError, (sqlite3_vfs * vfs, int n, char *out), (g.parent, n, out))
ROUTE(int, xCurrentTimeInt64, (sqlite3_vfs * vfs, sqlite3_int64 *out), (g.parent, out))
ROUTE(int, xSetSystemCall, (sqlite3_vfs * vfs, const char *name, sqlite3_syscall_ptr p), (g.parent, name, p))
ROUTE(sqlite3_syscall_ptr, xGetSystemCall, (sqlite3_vfs * vfs, const char *name), (g.parent, name))
ROUTE(const char *, xNextSystemCall, (sqlite3_vfs * vfs, const char *name), (g.parent, name))
#undef ROUTE
static void router_xDlError(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  g.parent->xDlError(g.parent, n, out);
}
static void (*router_xDlSym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
  (void)vfs;
  return g.parent->xDlSym(g.parent, h, sym);
}
static void router_xDlClose(sqlite3_vfs *vfs, void *h) {
  (void)vfs;
  g.parent->xDlClose(g.parent, h);
}

/* Installs the router in front of the default VFS, keeping the default's name. */
static int ls_install_router(void) {
  sqlite3_vfs *p = g.parent;
  ls_router = *p;
  ls_router.pNext = NULL;
  ls_router.szOsFile = ls_vfs.szOsFile;
  ls_router.xOpen = router_open;
  ls_router.xDelete = router_delete;
  ls_router.xAccess = router_access;
  ls_router.xFullPathname = router_xFullPathname;
  ls_router.xDlOpen = p->xDlOpen ? router_xDlOpen : NULL;
  ls_router.xDlError = p->xDlError ? router_xDlError : NULL;
  ls_router.xDlSym = p->xDlSym ? router_xDlSym : NULL;
  ls_router.xDlClose = p->xDlClose ? router_xDlClose : NULL;
  ls_router.xRandomness = router_xRandomness;
  ls_router.xSleep = router_xSleep;
  ls_router.xCurrentTime = router_xCurrentTime;
  ls_router.xGetLastError = p->xGetLastError ? router_xGetLastError : NULL;
  if (p->iVersion >= 2) ls_router.xCurrentTimeInt64 = p->xCurrentTimeInt64 ? router_xCurrentTimeInt64 : NULL;
  if (p->iVersion >= 3) {
    ls_router.xSetSystemCall = p->xSetSystemCall ? router_xSetSystemCall : NULL;
    ls_router.xGetSystemCall = p->xGetSystemCall ? router_xGetSystemCall : NULL;
    ls_router.xNextSystemCall = p->xNextSystemCall ? router_xNextSystemCall : NULL;
  }
  return sqlite3_vfs_register(&ls_router, 1);
}

/* ------------------------------------------------------------------ SQL functions */

/* The connection's main database file, if it is ours. */
static LsFile *ls_main_file(sqlite3_context *ctx) {
  sqlite3_file *pf = NULL;
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &pf) != SQLITE_OK || pf == NULL || pf->pMethods != &ls_main_methods) {
    sqlite3_result_error(ctx, "the main database is not opened with the litestream VFS (file:name.db?vfs=litestream)", -1);
    return NULL;
  }
  return (LsFile *)pf;
}

static void ls_function(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *name = sqlite3_user_data(ctx);
  LsFile *f = ls_main_file(ctx);
  if (!f) return;
  const char *value = argc > 0 ? (const char *)sqlite3_value_text(argv[0]) : NULL;
  char *result = NULL;
  int rc = ls_pragma(f, name, value, &result);
  if (rc == SQLITE_OK) {
    if (result && strcmp(name, "litestream_lag") == 0) {
      sqlite3_result_int64(ctx, strtoll(result, NULL, 10));
      sqlite3_free(result);
    } else if (result) sqlite3_result_text(ctx, result, -1, sqlite3_free);
    else sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_error(ctx, result ? result : "litestream function failed", -1);
  sqlite3_free(result);
}

static void ls_set_time(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  LsFile *f = ls_main_file(ctx);
  if (!f) return;
  char *result = NULL;
  const char *value = argc > 0 ? (const char *)sqlite3_value_text(argv[0]) : NULL;
  if (ls_pragma(f, "litestream_time", value ? value : "latest", &result) == SQLITE_OK) {
    sqlite3_free(result);
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_error(ctx, result ? result : "litestream_set_time failed", -1);
  sqlite3_free(result);
}

static int ls_register_functions(sqlite3 *db) {
  int rc = sqlite3_create_function(db, "litestream_set_time", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL, ls_set_time, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "litestream_time", 0, SQLITE_UTF8, (void *)"litestream_time", ls_function, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "litestream_txid", 0, SQLITE_UTF8, (void *)"litestream_txid", ls_function, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "litestream_lag", 0, SQLITE_UTF8, (void *)"litestream_lag", ls_function, NULL, NULL);
  return rc;
}

static int ls_auto_extension(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)err;
  (void)api;
  return ls_register_functions(db);
}

/* ------------------------------------------------------------------ load */

/* Reads the configuration (once, at the first load) and derives the server's paths. */
static int ls_initialize(char **err) {
  if (g.initialized) return SQLITE_OK;
  size_t n = 0;
  for (char **e = environ; e && *e; e++) n++;
  g.env = calloc(n + 1, sizeof(char *));
  if (!g.env) return SQLITE_NOMEM;
  for (size_t i = 0; i < n; i++) g.env[i] = strdup(environ[i]);
  const char *url = env_get("LITESTREAM_REPLICA_URL");
  if (url == NULL || *url == 0) {
    *err = sqlite3_mprintf("litestream-vfs: LITESTREAM_REPLICA_URL is not set: set it to the replica (s3://bucket/path, file:///dir) before loading the extension");
    return SQLITE_ERROR;
  }
  const char **settings = calloc(n + 1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (is_setting(g.env[i])) settings[k++] = g.env[i];
  qsort(settings, k, sizeof(char *), cmp_str);
  uint64_t h = 14695981039346656037ull;
  char uid[32];
  snprintf(uid, sizeof uid, "uid=%u", (unsigned)getuid());
  h = fnv(h, uid);
  for (size_t i = 0; i < k; i++) h = fnv(h, settings[i]);
  free(settings);
  snprintf(g.key, sizeof g.key, "%016llx", (unsigned long long)h);

  const char *dir = env_get("SQLREP_VFS_RUNTIME_DIR");
  if (dir && *dir) snprintf(g.runtimeDir, sizeof g.runtimeDir, "%s", dir);
  else snprintf(g.runtimeDir, sizeof g.runtimeDir, "/tmp/sqlrep-vfs-%u", (unsigned)getuid());
  if (mkdir(g.runtimeDir, 0700) != 0 && errno != EEXIST) {
    *err = sqlite3_mprintf("litestream-vfs: cannot create %s: %s", g.runtimeDir, strerror(errno));
    return SQLITE_ERROR;
  }
  struct stat st;
  if (lstat(g.runtimeDir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
    *err = sqlite3_mprintf("litestream-vfs: %s must be a directory of this user with mode 0700", g.runtimeDir);
    return SQLITE_ERROR;
  }
  if (strlen(g.runtimeDir) + 22 >= sizeof g.sockPath) {
    *err = sqlite3_mprintf("litestream-vfs: the runtime directory %s is too long for a socket path (set SQLREP_VFS_RUNTIME_DIR to a shorter one)", g.runtimeDir);
    return SQLITE_ERROR;
  }
  snprintf(g.sockPath, sizeof g.sockPath, "%.80s/%s.sock", g.runtimeDir, g.key);
  snprintf(g.statePath, sizeof g.statePath, "%s/%s.state", g.runtimeDir, g.key);
  snprintf(g.lockPath, sizeof g.lockPath, "%s/%s.lock", g.runtimeDir, g.key);
  snprintf(g.logPath, sizeof g.logPath, "%s/%s.out", g.runtimeDir, g.key);

  const char *server = env_get("SQLREP_VFS_SERVER");
  if (server && *server) snprintf(g.server, sizeof g.server, "%s", server);
  else {
    Dl_info info;
    if (!dladdr((void *)ls_initialize, &info) || !info.dli_fname) {
      *err = sqlite3_mprintf("litestream-vfs: cannot tell where the extension was loaded from");
      return SQLITE_ERROR;
    }
    char so[PATH_MAX - 32];
    snprintf(so, sizeof so, "%s", info.dli_fname);
    char *slash = strrchr(so, '/');
    if (slash) *slash = 0;
    else snprintf(so, sizeof so, ".");
    snprintf(g.server, sizeof g.server, "%s/../dist/server.js", so);
  }
  const char *node = env_get("SQLREP_VFS_NODE");
  snprintf(g.node, sizeof g.node, "%s", node && *node ? node : SQLREP_NODE_PATH);
  if (access(g.node, X_OK) != 0) {
    /* Not where the build found it: look on the PATH. */
    const char *path = env_get("PATH");
    char found[PATH_MAX] = "";
    for (const char *p = path; p && *p;) {
      const char *colon = strchr(p, ':');
      size_t len = colon ? (size_t)(colon - p) : strlen(p);
      snprintf(found, sizeof found, "%.*s/node", (int)len, p);
      if (access(found, X_OK) == 0) break;
      found[0] = 0;
      p = colon ? colon + 1 : p + len;
    }
    if (!found[0]) {
      *err = sqlite3_mprintf("litestream-vfs: no node binary at %s or on the PATH (set SQLREP_VFS_NODE)", g.node);
      return SQLITE_ERROR;
    }
    snprintf(g.node, sizeof g.node, "%s", found);
  }
  if (access(g.server, R_OK) != 0) {
    *err = sqlite3_mprintf("litestream-vfs: the page server %s is missing (build apps/vfs)", g.server);
    return SQLITE_ERROR;
  }
  g.parent = sqlite3_vfs_find(NULL);
  if (!g.parent) return SQLITE_ERROR;
  ls_vfs.szOsFile = (int)(sizeof(LsFile) > (size_t)g.parent->szOsFile ? sizeof(LsFile) : (size_t)g.parent->szOsFile);
  ls_vfs.mxPathname = g.parent->mxPathname;
  int rc = sqlite3_vfs_register(&ls_vfs, 0);
  if (rc == SQLITE_OK) rc = ls_install_router();
  if (rc != SQLITE_OK) return rc;
  sqlite3_auto_extension((void (*)(void))ls_auto_extension);
  g.initialized = 1;
  return SQLITE_OK;
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_litestreamvfs_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  pthread_mutex_lock(&g.mu);
  int rc = ls_initialize(err);
  pthread_mutex_unlock(&g.mu);
  if (rc != SQLITE_OK) return rc;
  rc = ls_register_functions(db);
  if (rc != SQLITE_OK) return rc;
  /* The VFS must outlive the connection that loaded it. */
  return SQLITE_OK_LOAD_PERMANENTLY;
}
