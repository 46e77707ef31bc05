/*
 * ls.h: what the parts of litestream-vfs.so share: the wire format's constants, the
 * file handle, the process-wide state and the functions one part offers another.
 * wire.c talks to the page server, file.c is the database file and the memory journals,
 * litestream-vfs.c is the VFS, the router, the SQL functions and the entry point.
 */
#ifndef LS_H
#define LS_H
#define _GNU_SOURCE
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
#include "sqlite3ext.h"
#ifndef LS_MAIN
SQLITE_EXTENSION_INIT3
#endif

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

/* Process-wide state: the configuration read at load, the server's paths, the mapping. */
struct LsGlobal {
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
};
extern struct LsGlobal g;

extern const sqlite3_io_methods ls_main_methods;
extern const sqlite3_io_methods ls_mem_methods;

/* A growable request buffer. */
typedef struct Buf {
  unsigned char *p;
  size_t n, cap;
  unsigned char small[256];
} Buf;

/* A reply: status, SQLite code and message on error, payload otherwise. */
typedef struct Reply {
  int status;
  int rc;
  unsigned char *data;
  uint32_t n;
  char *message;
} Reply;

void ls_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_ms(void);
void put32(unsigned char *p, uint32_t v);
void put64(unsigned char *p, uint64_t v);
uint32_t get32(const unsigned char *p);
uint64_t get64(const unsigned char *p);
void decode_state(const unsigned char *p, LsState *s);
uint64_t fnv(uint64_t h, const char *s);
int is_setting(const char *e);
int cmp_str(const void *a, const void *b);
const char *env_get(const char *name);
int write_all(int fd, const unsigned char *p, size_t n);
int read_all(int fd, unsigned char *p, size_t n);
void buf_init(Buf *b, int op);
int buf_room(Buf *b, size_t more);
int buf_u8(Buf *b, uint8_t v);
int buf_u32(Buf *b, uint32_t v);
int buf_u64(Buf *b, uint64_t v);
int buf_bytes(Buf *b, const void *p, size_t n);
int buf_str(Buf *b, const char *s);
void buf_free(Buf *b);
void reply_free(Reply *r);
int ls_call(LsFile *f, Buf *b, Reply *r);
int try_connect(void);
int spawn_server(void);
int ls_connect(void);
int ls_map_state(void);
int ls_shm_state(LsState *s);
uint64_t ls_shm_alive(void);
int ls_open_session(LsFile *f, const char *name, int flags, char **message);
int ls_reconnect(LsFile *f);
int ls_fail(Reply *r, const char *what);
int ls_check_reserved(sqlite3_file *pf, int *out);
int ls_pragma(LsFile *f, const char *name, const char *value, char **result);
int ls_sector_size(sqlite3_file *pf);
int ls_device_characteristics(sqlite3_file *pf);
MemData *mem_find(const char *name);
void mem_unlink(MemData *m);

#endif
