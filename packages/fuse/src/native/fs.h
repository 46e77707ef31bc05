/* The shared state of the sqlrep FUSE filesystem: nodes, databases, lock tables,
 * pending requests and the events handed to JavaScript. See ../../README.md. */
#ifndef SQLREP_FS_H
#define SQLREP_FS_H

#define FUSE_USE_VERSION 29
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fuse/fuse_lowlevel.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What a node is. K_DB..K_LOCK belong to a database, in this order. */
enum kind { K_DIR, K_DB, K_JOURNAL, K_WAL, K_SHM, K_POS, K_LOCK, K_PRIMARY, K_LAG };
#define DB_FILES 6  /* K_DB..K_LOCK */
#define REAL_FILES 4 /* K_DB..K_SHM have a file under the data directory */
#define FILE_INDEX(kind) ((kind) - K_DB)

/* SQLite's lock bytes (os_unix.c, wal.c). */
#define PENDING_BYTE 0x40000000ULL
#define RESERVED_BYTE (PENDING_BYTE + 1)
#define SHARED_FIRST (PENDING_BYTE + 2)
#define SHARED_SIZE 510
#define SHM_WRITE 120
#define SHM_CKPT 121
#define SHM_RECOVER 122
#define SHM_READ0 123
#define SHM_DMS 128
#define HALT_BYTE 72

struct db;
struct dir;
struct handle;

struct inval {
  struct inval *next;
  uint64_t ino; /* the inode, or the parent directory of `name` */
  char *name;
  off_t off, len;
};

struct node {
  uint64_t ino;
  int kind;
  struct db *db;   /* database nodes */
  struct dir *dir; /* directories */
};

/* One byte-range lock, POSIX style: an owner holds [start, end] (end inclusive). */
struct lk {
  struct lk *next;
  uint64_t owner;
  uint64_t start, end;
  int type; /* F_RDLCK or F_WRLCK */
  pid_t pid;
  struct handle *fh; /* the open file it was taken through: OFD locks die with it */
};

/* A blocking F_SETLKW request waiting for a conflicting lock to go. */
struct waiter {
  struct waiter *next;
  fuse_req_t req;
  uint64_t token;
  uint64_t owner, start, end;
  int type;
  pid_t pid;
  struct handle *fh;
};

struct lockset {
  struct lk *head;
  struct waiter *waiters;
};

struct dir {
  struct node node;
  char *name;  /* last component; "" for the root */
  char *rel;   /* path below the mount root: "" or "a/b" */
  struct dir *parent;
  int removed;
};

/* A database and its five companion names. */
struct db {
  int id;
  char *name; /* "a/b/app.db" */
  const char *base; /* points into name */
  struct dir *dir;
  struct node nodes[DB_FILES];
  char *path[REAL_FILES];
  int removed;
  int writable;
  int failed;         /* a commit failed after SQLite believed it done: refuse access */
  char pos[35];
  int64_t pos_mtime_ms;
  struct lockset locks[DB_FILES];

  int fd; /* the database file, opened by the daemon for captures and applies */
  uint32_t page_size; /* from the header, 0 until known */

  /* rollback-journal mode: pages written under a SQLite write lock since the last commit */
  uint8_t *dirty;
  uint32_t dirty_pages; /* capacity in pages */
  uint32_t ndirty;
  int synced;           /* SQLite asked for an fsync since the last commit */
  struct handle *raw;   /* an open file that wrote without any SQLite lock (cp) */
  int journal_handles;  /* open handles of the rollback journal */
  int dirents_dirty;    /* a companion file was created or removed since the last directory fsync */

  /* WAL mode: everything before wal_off is captured */
  int wal_known;
  uint64_t wal_off;
  uint32_t wal_salt[2];
  uint32_t wal_ck[2];
  int wal_be;
  uint32_t wal_page_size;
  uint32_t shm_change;
  uint32_t wal_hdr_page_size; /* from the WAL header SQLite wrote */
  int wal_unsynced;           /* WAL transactions captured since SQLite's last WAL fsync */

  /* the halt lock (byte 72 of <db>-lock) */
  int halt_state; /* 0 free, 1 asking the backend, 2 held */
  uint64_t halt_owner;
  struct handle *halt_fh;
  uint64_t halt_token;
  struct waiter *halt_waiters;

  pid_t logged_pids[16]; /* replica write attempts already logged */
  int logged_next;
};

struct handle {
  struct node *node;
  int fd;
  int flags;
  pid_t pid;
  char *vdata; /* virtual file content, taken at open */
  size_t vlen;
};

/* Events for JavaScript. */
enum event_type { E_COMMIT = 1, E_CREATE, E_DROP, E_HALT, E_UNHALT, E_INTERRUPT, E_LOG, E_SYNC };
enum commit_mode { M_WAL = 1, M_ROLLBACK, M_RAW };

/* One captured transaction: `npages` native-order uint32 page numbers, ascending,
 * then the pages themselves, in one allocation handed to JavaScript as is. */
struct txinfo {
  uint32_t page_size, commit, npages;
  uint8_t *buf;
  size_t buflen;
  int mode;
  uint64_t wal_off, wal_size;
  uint32_t salt1, salt2;
  int durable;
  pid_t pid;
};

struct event {
  int type;
  uint64_t token;
  int db;
  char *str; /* E_CREATE/E_DROP: name; E_LOG: message */
  int level; /* E_LOG: 0 debug, 1 info, 2 warn, 3 error */
  pid_t pid;
  int ntx; /* E_COMMIT */
  struct txinfo *tx;
};

/* What to do once JavaScript answers a pending request. */
enum pending_kind {
  P_WAL_UNLOCK = 1, /* setlk that released the WAL write lock */
  P_FLUSH,          /* flush that dropped the WAL write lock or ends a raw copy */
  P_RELEASE,        /* release that ends a raw copy */
  P_UNLINK_JOURNAL,
  P_TRUNCATE_JOURNAL,
  P_ZERO_JOURNAL,
  P_UNLOCK_DB,      /* db write lock released with pages still dirty (no journal) */
  P_CREATE,
  P_UNLINK_DB,
  P_HALT,
  P_WAL_COMMIT,     /* the write that completed a WAL commit frame */
  P_SYNC,           /* an fsync of the WAL: the backend makes its log durable */
};

struct pending {
  struct pending *next;
  uint64_t token;
  uint64_t started_ns; /* when JavaScript was asked */
  int kind;
  fuse_req_t req;
  struct db *db;
  struct handle *h;
  /* a lock change to apply (P_WAL_UNLOCK, P_UNLOCK_DB) */
  uint64_t owner, start, end;
  int type;
  pid_t pid;
  /* P_ZERO_JOURNAL: the write to pass through */
  char *buf;
  size_t len;
  off_t off;
  /* P_TRUNCATE_JOURNAL: setattr arguments */
  struct stat attr;
  int to_set;
  /* P_CREATE */
  struct dir *parent;
  char *name;
  int flags;
  mode_t mode;
  struct fuse_file_info fi;
  /* P_WAL_COMMIT: the capture position before it, restored on refusal */
  int wal_known;
  uint64_t wal_off;
  uint32_t wal_ck[2], wal_salt[2];
  uint32_t wal_page_size;
};

enum stat_counter {
  S_LOOKUP, S_GETATTR, S_SETATTR, S_OPEN, S_CREATE, S_READ, S_WRITE, S_FLUSH, S_RELEASE, S_FSYNC,
  S_UNLINK, S_SETLK, S_GETLK, S_READDIR, S_OTHER, S_COMMIT, S_APPLY, S_WAIT_NS, S_WAITS, S_COUNT
};

struct fs {
  pthread_mutex_t mu;
  struct fuse_session *se;
  struct fuse_chan *ch;
  char *mountpoint;
  char *statfs_path;
  pthread_t thread;
  int loop_started;
  int unmounted;

  struct node **inodes; /* by ino */
  uint64_t ninodes, capinodes;
  struct dir **dirs;
  int ndirs, capdirs;
  struct db **dbs; /* by id */
  int ndbs, capdbs;

  struct node primary_node, lag_node;
  char *primary; /* hostname + "\n", NULL when .primary is absent */
  size_t primary_len;
  int lag_mode;  /* 0: fixed value, 1: now − timestamp */
  int64_t lag_value;

  struct pending *pending;
  uint64_t next_token;
  uint64_t next_internal_owner;

  napi_threadsafe_function tsfn;
  napi_async_context async_context; /* events run as callbacks: promises they start settle at once */
  /* kernel cache invalidations asked for on the JS thread run on their own thread:
   * the kernel may wait for a request that itself waits for JavaScript */
  pthread_mutex_t inval_mu;
  pthread_cond_t inval_cond;
  struct inval *inval_head, *inval_tail;
  pthread_t inval_thread;
  int inval_stop;
  double entry_timeout, attr_timeout;
  uid_t uid;
  gid_t gid;
  int debug;
  uint64_t stats[S_COUNT];
};

/* events.c */
void fs_post(struct fs *fs, struct event *ev);
void fs_log(struct fs *fs, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t fs_token(struct fs *fs);
struct pending *pending_new(struct fs *fs, int kind, fuse_req_t req, struct db *db);
void stat_inc(struct fs *fs, int which);
uint64_t now_ns(void);
/* the thread-safe function's call_js: turns an event into the object onEvent gets */
void call_js(napi_env env, napi_value cb, void *context, void *data);

/* invalidate.c */
void *inval_main(void *arg);
void fs_inval_inode(struct fs *fs, uint64_t ino, off_t off, off_t len, int now);
void fs_inval_entry(struct fs *fs, uint64_t parent, const char *name, int now);
void db_invalidate_entry(struct fs *fs, struct db *db, int kind, int now);

/* js_calls.c: the exports addon.c names besides mount and unmount */
napi_value js_add_database(napi_env env, napi_callback_info info);
napi_value js_remove_database(napi_env env, napi_callback_info info);
napi_value js_update_database(napi_env env, napi_callback_info info);
napi_value js_set_primary(napi_env env, napi_callback_info info);
napi_value js_set_lag(napi_env env, napi_callback_info info);
napi_value js_complete(napi_env env, napi_callback_info info);
napi_value js_interrupt(napi_env env, napi_callback_info info);
napi_value js_stats(napi_env env, napi_callback_info info);

/* tree.c */
struct node *node_get(struct fs *fs, uint64_t ino);
uint64_t node_register(struct fs *fs, struct node *n);
struct dir *dir_create(struct fs *fs, struct dir *parent, const char *name);
struct dir *dir_find(struct fs *fs, struct dir *parent, const char *name);
struct dir *dir_for_path(struct fs *fs, const char *rel, int create);
struct db *db_find(struct fs *fs, struct dir *dir, const char *base);
struct db *db_by_name(struct fs *fs, const char *name);
int name_resolve(struct fs *fs, struct dir *dir, const char *name, struct node **out);
int name_kind(const char *name, char **base_out);
int real_exists(struct db *db, int kind);
int node_stat(struct fs *fs, struct node *n, struct handle *h, struct stat *st);
void format_lag(struct fs *fs, char *out, size_t *len);
void db_log_replica_write(struct fs *fs, struct db *db, pid_t pid, const char *what);
char *full_db_name(struct dir *dir, const char *base);

/* locks.c */
struct lk *lk_conflict(struct lockset *ls, uint64_t owner, uint64_t start, uint64_t end, int type);
void lk_set(struct lockset *ls, uint64_t owner, uint64_t start, uint64_t end, int type, pid_t pid, struct handle *fh);
int lk_drop_owner(struct lockset *ls, uint64_t owner);
int lk_drop_fh(struct lockset *ls, struct handle *fh);
int lk_owner_holds(struct lockset *ls, uint64_t owner, uint64_t byte, int type);
int lk_anyone_holds(struct lockset *ls, uint64_t byte, int type);
int lk_any_lock(struct lockset *ls);
int lk_owner_has_write(struct lockset *ls, uint64_t owner, uint64_t start, uint64_t end);
void lk_wake(struct fs *fs, struct lockset *ls);
void lk_free_all(struct lockset *ls);

/* capture.c */
uint32_t db_page_size(struct db *db, const void *write_buf, size_t len, off_t off);
void dirty_mark(struct db *db, uint32_t page_size, off_t off, size_t len);
int capture_rollback(struct db *db, int mode, pid_t pid, struct txinfo *out);
int capture_wal(struct db *db, pid_t pid, int emit, struct txinfo **out, int *count);
void txinfo_free(struct txinfo *tx, int count);
void wal_forget(struct db *db);
void wal_seek_end(struct db *db);

/* apply.c */
napi_value js_apply(napi_env env, napi_callback_info info);
napi_value js_lock_database(napi_env env, napi_callback_info info);
napi_value js_unlock_database(napi_env env, napi_callback_info info);
void db_sync_wal_presence(struct fs *fs, struct db *db, int now);

/* ops.c (the ops_*.c helpers it shares are in ops.h) */
extern const struct fuse_lowlevel_ops sqlrep_ops;
void finish_pending(struct fs *fs, struct pending *p, int err);

#endif
