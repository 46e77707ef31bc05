/* N-API glue: mounting and unmounting, the database table JavaScript keeps current,
 * and the one-way event channel (a thread-safe function) from the FUSE threads to
 * JavaScript, answered through complete(). */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error(env, NULL, "sqlrep fuse: N-API call failed: " #call);   \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

static void *inval_main(void *arg);

void stat_inc(struct fs *fs, int which) {
  __atomic_fetch_add(&fs->stats[which], 1, __ATOMIC_RELAXED);
}

uint64_t fs_token(struct fs *fs) {
  return ++fs->next_token;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct pending *pending_new(struct fs *fs, int kind, fuse_req_t req, struct db *db) {
  struct pending *p = calloc(1, sizeof *p);
  p->started_ns = now_ns();
  p->token = fs_token(fs);
  p->kind = kind;
  p->req = req;
  p->db = db;
  p->next = fs->pending;
  fs->pending = p;
  return p;
}

static void event_free(struct event *ev) {
  if (ev->tx) txinfo_free(ev->tx, ev->ntx);
  free(ev->str);
  free(ev);
}

void fs_post(struct fs *fs, struct event *ev) {
  if (fs->unmounted || napi_call_threadsafe_function(fs->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) event_free(ev);
}

void fs_log(struct fs *fs, int level, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (fs->debug) fprintf(stderr, "[sqlrep-fuse] %s\n", buf);
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_LOG;
  ev->level = level;
  ev->str = strdup(buf);
  fs_post(fs, ev);
}

static void free_external(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static napi_value str(napi_env env, const char *s) {
  napi_value out;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

static void set(napi_env env, napi_value obj, const char *key, napi_value v) {
  napi_set_named_property(env, obj, key, v);
}

static napi_value tx_object(napi_env env, struct txinfo *tx) {
  static const char *const modes[] = {"", "wal", "rollback", "raw"};
  napi_value obj, ab, pgnos, data, boolean;
  napi_create_object(env, &obj);
  /* the page set goes to JavaScript as is: one allocation, no copy */
  napi_create_external_arraybuffer(env, tx->buf, tx->buflen, free_external, NULL, &ab);
  tx->buf = NULL;
  napi_create_typedarray(env, napi_uint32_array, tx->npages, ab, 0, &pgnos);
  napi_create_typedarray(env, napi_uint8_array, (size_t)tx->npages * tx->page_size, ab, (size_t)tx->npages * 4, &data);
  set(env, obj, "pageSize", num(env, tx->page_size));
  set(env, obj, "commit", num(env, tx->commit));
  set(env, obj, "pgnos", pgnos);
  set(env, obj, "data", data);
  set(env, obj, "mode", str(env, modes[tx->mode]));
  set(env, obj, "walOffset", num(env, (double)tx->wal_off));
  set(env, obj, "walSize", num(env, (double)tx->wal_size));
  set(env, obj, "walSalt1", num(env, tx->salt1));
  set(env, obj, "walSalt2", num(env, tx->salt2));
  napi_get_boolean(env, tx->durable, &boolean);
  set(env, obj, "durable", boolean);
  set(env, obj, "pid", num(env, tx->pid));
  return obj;
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  struct event *ev = data;
  if (!env) {
    event_free(ev);
    return;
  }
  static const char *const types[] = {"", "commit", "create", "drop", "halt", "unhalt", "interrupt", "log", "sync"};
  napi_value obj, global;
  napi_create_object(env, &obj);
  set(env, obj, "type", str(env, types[ev->type]));
  set(env, obj, "token", num(env, (double)ev->token));
  set(env, obj, "db", num(env, ev->db));
  set(env, obj, "pid", num(env, ev->pid));
  if (ev->str) set(env, obj, ev->type == E_LOG ? "message" : "name", str(env, ev->str));
  if (ev->type == E_LOG) set(env, obj, "level", num(env, ev->level));
  if (ev->type == E_COMMIT) {
    napi_value list;
    napi_create_array_with_length(env, (size_t)ev->ntx, &list);
    for (int i = 0; i < ev->ntx; i++) napi_set_element(env, list, (uint32_t)i, tx_object(env, &ev->tx[i]));
    set(env, obj, "transactions", list);
  }
  event_free(ev);
  napi_get_global(env, &global);
  /* make_callback, not call_function: it drains the microtask queue afterwards, so
   * the backend's promise chain runs now rather than at the next unrelated event */
  struct fs *fs = context;
  napi_make_callback(env, fs->async_context, global, cb, 1, &obj, NULL);
}

static struct fs *get_fs(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "sqlrep fuse: not a mount handle");
    return NULL;
  }
  return p;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *out = malloc(len + 1);
  napi_get_value_string_utf8(env, v, out, len + 1, &len);
  return out;
}

static double get_number(napi_env env, napi_value obj, const char *key, double fallback) {
  napi_value v;
  napi_valuetype t;
  double out = fallback;
  if (napi_get_named_property(env, obj, key, &v) == napi_ok && napi_typeof(env, v, &t) == napi_ok && t == napi_number)
    napi_get_value_double(env, v, &out);
  return out;
}

static char *get_string_prop(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_string)
    return NULL;
  return get_string(env, v);
}

static void *loop_main(void *arg) {
  struct fs *fs = arg;
  fuse_session_loop_mt(fs->se);
  return NULL;
}

/* mount(mountpoint, { statfsPath, entryTimeout, attrTimeout, debug, options }, onEvent) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *mountpoint = get_string(env, argv[0]);
  if (!mountpoint) {
    napi_throw_type_error(env, NULL, "sqlrep fuse: mountpoint must be a string");
    return NULL;
  }
  struct fs *fs = calloc(1, sizeof *fs);
  pthread_mutex_init(&fs->mu, NULL);
  fs->mountpoint = mountpoint;
  fs->statfs_path = get_string_prop(env, argv[1], "statfsPath");
  if (!fs->statfs_path) fs->statfs_path = strdup("/");
  fs->entry_timeout = get_number(env, argv[1], "entryTimeout", 1.0);
  fs->attr_timeout = get_number(env, argv[1], "attrTimeout", 1.0);
  fs->debug = get_number(env, argv[1], "debug", 0) != 0;
  fs->uid = getuid();
  fs->gid = getgid();
  char *extra = get_string_prop(env, argv[1], "options");

  dir_create(fs, NULL, ""); /* the root: inode 1 */
  fs->primary_node.kind = K_PRIMARY;
  node_register(fs, &fs->primary_node);
  fs->lag_node.kind = K_LAG;
  node_register(fs, &fs->lag_node);
  fs->lag_value = 2147483647;

  napi_value name;
  CHECK(napi_create_string_utf8(env, "sqlrep-fuse", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, fs, call_js, &fs->tsfn));
  CHECK(napi_async_init(env, NULL, name, &fs->async_context));

  char opts[1024];
  snprintf(opts, sizeof opts, "fsname=sqlrep,subtype=sqlrep,allow_other,max_read=131072,big_writes%s%s", extra && *extra ? "," : "",
           extra ? extra : "");
  free(extra);
  char *args_v[] = {"sqlrep", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, args_v);
  fs->ch = fuse_mount(fs->mountpoint, &args);
  if (!fs->ch) {
    napi_release_threadsafe_function(fs->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "EMOUNT", "sqlrep fuse: mount failed (is /dev/fuse there, is the directory empty and not mounted?)");
    return NULL;
  }
  if (fs->debug) fprintf(stderr, "[sqlrep-fuse] mounted %s with %s\n", fs->mountpoint, opts);
  /* fuse_mount took the mount options out of args; the rest are libfuse's */
  fs->se = fuse_lowlevel_new(&args, &sqlrep_ops, sizeof sqlrep_ops, fs);
  if (!fs->se) {
    fuse_unmount(fs->mountpoint, fs->ch);
    fuse_opt_free_args(&args);
    napi_release_threadsafe_function(fs->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "EMOUNT", "sqlrep fuse: fuse_lowlevel_new failed (an unknown -o option?)");
    return NULL;
  }
  fuse_opt_free_args(&args);
  fuse_session_add_chan(fs->se, fs->ch);
  /* FUSE threads take no signals: Node handles them on its own threads */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int rc = pthread_create(&fs->thread, NULL, loop_main, fs);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    napi_throw_error(env, "EMOUNT", "sqlrep fuse: cannot start the FUSE thread");
    return NULL;
  }
  fs->loop_started = 1;
  pthread_mutex_init(&fs->inval_mu, NULL);
  pthread_cond_init(&fs->inval_cond, NULL);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_create(&fs->inval_thread, NULL, inval_main, fs);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  napi_value out;
  CHECK(napi_create_external(env, fs, NULL, NULL, &out));
  return out;
}

struct unmount_work {
  struct fs *fs;
  napi_deferred deferred;
  napi_async_work work;
  int timed_out;
};

/* Every request still waiting on JavaScript gets an error: nobody will answer it. */
static void fail_all_pending(struct fs *fs) {
  pthread_mutex_lock(&fs->mu);
  struct pending *p = fs->pending;
  fs->pending = NULL;
  for (int i = 0; i < fs->ndbs; i++) {
    struct db *db = fs->dbs[i];
    if (!db) continue;
    for (int k = 0; k < DB_FILES; k++) lk_free_all(&db->locks[k]);
    while (db->halt_waiters) {
      struct waiter *w = db->halt_waiters;
      db->halt_waiters = w->next;
      fuse_reply_err(w->req, EINTR);
      free(w);
    }
  }
  pthread_mutex_unlock(&fs->mu);
  while (p) {
    struct pending *next = p->next;
    if (p->kind == P_CREATE || p->kind == P_UNLINK_DB || p->kind == P_HALT || p->kind == P_SYNC)
      fuse_reply_err(p->req, EIO);
    else
      finish_pending(fs, p, EIO);
    p = next;
  }
}

static void abort_connection(struct fs *fs, dev_t dev) {
  char path[128];
  snprintf(path, sizeof path, "/sys/fs/fuse/connections/%u/abort", minor(dev));
  int fd = open(path, O_WRONLY);
  if (fd >= 0) {
    if (write(fd, "1", 1) < 0) fs_log(fs, 2, "cannot abort the FUSE connection %s", path);
    close(fd);
  }
}

static void unmount_execute(napi_env env, void *data) {
  (void)env;
  struct unmount_work *w = data;
  struct fs *fs = w->fs;
  struct stat st;
  int have_dev = stat(fs->mountpoint, &st) == 0;
  fuse_session_exit(fs->se);
  fail_all_pending(fs);
  pthread_mutex_lock(&fs->inval_mu);
  fs->inval_stop = 1;
  pthread_cond_signal(&fs->inval_cond);
  pthread_mutex_unlock(&fs->inval_mu);
  pthread_join(fs->inval_thread, NULL);
  fuse_unmount(fs->mountpoint, NULL); /* lazy: open files keep working until closed */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  if (pthread_timedjoin_np(fs->thread, NULL, &deadline) != 0) {
    /* files still open through the mount: cut them off */
    w->timed_out = 1;
    if (have_dev) abort_connection(fs, st.st_dev);
    pthread_join(fs->thread, NULL);
  }
  fuse_session_destroy(fs->se);
}

static void unmount_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  struct unmount_work *w = data;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_release_threadsafe_function(w->fs->tsfn, napi_tsfn_release);
  napi_resolve_deferred(env, w->deferred, undefined);
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value js_unmount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  if (fs->unmounted) {
    napi_throw_error(env, NULL, "sqlrep fuse: already unmounted");
    return NULL;
  }
  fs->unmounted = 1;
  struct unmount_work *w = calloc(1, sizeof *w);
  w->fs = fs;
  CHECK(napi_create_promise(env, &w->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "sqlrep-unmount", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, unmount_execute, unmount_complete, w, &w->work));
  CHECK(napi_queue_async_work(env, w->work));
  return promise;
}

static void *inval_main(void *arg) {
  struct fs *fs = arg;
  pthread_mutex_lock(&fs->inval_mu);
  for (;;) {
    while (!fs->inval_head && !fs->inval_stop) pthread_cond_wait(&fs->inval_cond, &fs->inval_mu);
    if (!fs->inval_head) break;
    struct inval *iv = fs->inval_head;
    fs->inval_head = iv->next;
    if (!fs->inval_head) fs->inval_tail = NULL;
    pthread_mutex_unlock(&fs->inval_mu);
    if (!fs->unmounted) {
      if (iv->name)
        fuse_lowlevel_notify_inval_entry(fs->ch, iv->ino, iv->name, strlen(iv->name));
      else
        fuse_lowlevel_notify_inval_inode(fs->ch, iv->ino, iv->off, iv->len);
    }
    free(iv->name);
    free(iv);
    pthread_mutex_lock(&fs->inval_mu);
  }
  pthread_mutex_unlock(&fs->inval_mu);
  return NULL;
}

static void inval_queue(struct fs *fs, struct inval *iv) {
  pthread_mutex_lock(&fs->inval_mu);
  if (fs->inval_tail)
    fs->inval_tail->next = iv;
  else
    fs->inval_head = iv;
  fs->inval_tail = iv;
  pthread_cond_signal(&fs->inval_cond);
  pthread_mutex_unlock(&fs->inval_mu);
}

/* Drops the kernel's cached pages (off, len; len 0: to the end) and attributes (off
 * < 0: attributes only) of an inode. `now` only off the JS thread and FUSE threads. */
void fs_inval_inode(struct fs *fs, uint64_t ino, off_t off, off_t len, int now) {
  if (now) {
    fuse_lowlevel_notify_inval_inode(fs->ch, ino, off, len);
    return;
  }
  struct inval *iv = calloc(1, sizeof *iv);
  iv->ino = ino;
  iv->off = off;
  iv->len = len;
  inval_queue(fs, iv);
}

/* Drops the kernel's cached lookup of a name (also a cached "does not exist"). */
void fs_inval_entry(struct fs *fs, uint64_t parent, const char *name, int now) {
  if (now) {
    fuse_lowlevel_notify_inval_entry(fs->ch, parent, name, strlen(name));
    return;
  }
  struct inval *iv = calloc(1, sizeof *iv);
  iv->ino = parent;
  iv->name = strdup(name);
  inval_queue(fs, iv);
}

/* A database or companion file appeared or went without the kernel seeing it. */
void db_invalidate_entry(struct fs *fs, struct db *db, int kind, int now) {
  static const char *const suffix[DB_FILES] = {"", "-journal", "-wal", "-shm", "-pos", "-lock"};
  char name[4096];
  snprintf(name, sizeof name, "%s%s", db->base, suffix[FILE_INDEX(kind)]);
  fs_inval_entry(fs, db->dir->node.ino, name, now);
}

static int get_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

/* addDatabase(handle, name, [database, journal, wal, shm], writable, pos, posMtimeMs) → id */
static napi_value js_add_database(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  char *name = get_string(env, argv[1]);
  char *paths[REAL_FILES];
  for (uint32_t i = 0; i < REAL_FILES; i++) {
    napi_value v;
    napi_get_element(env, argv[2], i, &v);
    paths[i] = get_string(env, v);
  }
  int fd = open(paths[0], O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    char msg[4200];
    snprintf(msg, sizeof msg, "sqlrep fuse: cannot open database file %s: %s", paths[0], strerror(errno));
    for (int i = 0; i < REAL_FILES; i++) free(paths[i]);
    free(name);
    napi_throw_error(env, "EDATABASE", msg);
    return NULL;
  }
  char *pos = get_string(env, argv[4]);
  double mtime = 0;
  napi_get_value_double(env, argv[5], &mtime);

  pthread_mutex_lock(&fs->mu);
  struct db *old = db_by_name(fs, name);
  if (old) {
    pthread_mutex_unlock(&fs->mu);
    close(fd);
    for (int i = 0; i < REAL_FILES; i++) free(paths[i]);
    free(pos);
    napi_throw_error(env, "EEXIST", "sqlrep fuse: database already mounted");
    free(name);
    return NULL;
  }
  struct db *db = calloc(1, sizeof *db);
  db->name = name;
  const char *slash = strrchr(name, '/');
  db->base = slash ? slash + 1 : name;
  char *rel = slash ? strndup(name, (size_t)(slash - name)) : strdup("");
  db->dir = dir_for_path(fs, rel, 1);
  free(rel);
  for (int i = 0; i < REAL_FILES; i++) db->path[i] = paths[i];
  db->fd = fd;
  db->writable = get_bool(env, argv[3]);
  memset(db->pos, '0', sizeof db->pos);
  if (pos && strlen(pos) == 34) memcpy(db->pos, pos, 34);
  db->pos[34] = 0;
  free(pos);
  db->pos_mtime_ms = (int64_t)mtime;
  for (int k = 0; k < DB_FILES; k++) {
    db->nodes[k].kind = K_DB + k;
    db->nodes[k].db = db;
    node_register(fs, &db->nodes[k]);
  }
  wal_seek_end(db);
  if (fs->ndbs == fs->capdbs) {
    fs->capdbs = fs->capdbs ? fs->capdbs * 2 : 16;
    fs->dbs = realloc(fs->dbs, (size_t)fs->capdbs * sizeof *fs->dbs);
  }
  db->id = fs->ndbs;
  fs->dbs[fs->ndbs++] = db;
  pthread_mutex_unlock(&fs->mu);
  /* a lookup that failed before may be cached as a negative entry */
  for (int k = K_DB; k <= K_LOCK; k++) db_invalidate_entry(fs, db, k, 0);
  if (!db->writable) db_sync_wal_presence(fs, db, 0);
  return num(env, db->id);
}

static struct db *db_arg(napi_env env, struct fs *fs, napi_value v) {
  char *name = get_string(env, v);
  pthread_mutex_lock(&fs->mu);
  struct db *db = name ? db_by_name(fs, name) : NULL;
  pthread_mutex_unlock(&fs->mu);
  if (!db) {
    char msg[4200];
    snprintf(msg, sizeof msg, "sqlrep fuse: no database %s is mounted", name ? name : "?");
    napi_throw_error(env, "ENOENT", msg);
  }
  free(name);
  return db;
}

static napi_value js_remove_database(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  struct db *db = db_arg(env, fs, argv[1]);
  if (!db) return NULL;
  pthread_mutex_lock(&fs->mu);
  db->removed = 1;
  pthread_mutex_unlock(&fs->mu);
  for (int k = K_DB; k <= K_LOCK; k++) db_invalidate_entry(fs, db, k, 0);
  return NULL;
}

/* updateDatabase(handle, name, writable, pos, posMtimeMs) */
static napi_value js_update_database(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  struct db *db = db_arg(env, fs, argv[1]);
  if (!db) return NULL;
  int writable = get_bool(env, argv[2]);
  char *pos = get_string(env, argv[3]);
  double mtime = 0;
  napi_get_value_double(env, argv[4], &mtime);
  pthread_mutex_lock(&fs->mu);
  int role_changed = db->writable != writable;
  db->writable = writable;
  if (pos && strlen(pos) == 34) memcpy(db->pos, pos, 34);
  db->pos_mtime_ms = (int64_t)mtime;
  if (role_changed) db->failed = 0;
  pthread_mutex_unlock(&fs->mu);
  free(pos);
  /* -pos needs no invalidation: virtual files are served with direct_io and attributes
   * that never stay cached */
  if (role_changed) {
    for (int k = K_DB; k <= K_SHM; k++) fs_inval_inode(fs, db->nodes[FILE_INDEX(k)].ino, -1, 0, 0);
    if (!writable) db_sync_wal_presence(fs, db, 0);
  }
  return NULL;
}

static napi_value js_set_primary(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  char *host = t == napi_string ? get_string(env, argv[1]) : NULL;
  char *content = NULL;
  size_t len = 0;
  if (host) {
    len = strlen(host) + 1;
    content = malloc(len + 1);
    snprintf(content, len + 1, "%s\n", host);
    free(host);
  }
  pthread_mutex_lock(&fs->mu);
  int changed = (content == NULL) != (fs->primary == NULL) || (content && strcmp(content, fs->primary) != 0);
  free(fs->primary);
  fs->primary = content;
  fs->primary_len = len;
  pthread_mutex_unlock(&fs->mu);
  if (changed) {
    fs_inval_entry(fs, 1, ".primary", 0);
    fs_inval_inode(fs, fs->primary_node.ino, -1, 0, 0);
  }
  return NULL;
}

/* setLag(handle, mode, value): mode 0 shows value, mode 1 shows now − value (ms) */
static napi_value js_set_lag(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  double mode = 0, value = 0;
  napi_get_value_double(env, argv[1], &mode);
  napi_get_value_double(env, argv[2], &value);
  pthread_mutex_lock(&fs->mu);
  fs->lag_mode = (int)mode;
  fs->lag_value = (int64_t)value;
  pthread_mutex_unlock(&fs->mu);
  fs_inval_inode(fs, fs->lag_node.ino, -1, 0, 0);
  return NULL;
}

/* complete(handle, token, errno): JavaScript's answer to a pending request */
static napi_value js_complete(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  double token = 0, err = 0;
  napi_get_value_double(env, argv[1], &token);
  napi_get_value_double(env, argv[2], &err);
  pthread_mutex_lock(&fs->mu);
  struct pending *p = NULL;
  for (struct pending **pp = &fs->pending; *pp; pp = &(*pp)->next) {
    if ((*pp)->token == (uint64_t)token) {
      p = *pp;
      *pp = p->next;
      break;
    }
  }
  pthread_mutex_unlock(&fs->mu);
  if (p) {
    stat_inc(fs, S_WAITS);
    __atomic_fetch_add(&fs->stats[S_WAIT_NS], now_ns() - p->started_ns, __ATOMIC_RELAXED);
    finish_pending(fs, p, (int)err);
  }
  napi_value out;
  napi_get_boolean(env, p != NULL, &out);
  return out;
}

/* interrupt(handle, token): a blocked F_SETLKW whose caller got a signal */
static napi_value js_interrupt(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  double token = 0;
  napi_get_value_double(env, argv[1], &token);
  pthread_mutex_lock(&fs->mu);
  for (int i = 0; i < fs->ndbs; i++) {
    struct db *db = fs->dbs[i];
    for (int k = 0; db && k < DB_FILES; k++) {
      for (struct waiter **pp = &db->locks[k].waiters; *pp; pp = &(*pp)->next) {
        if ((*pp)->token == (uint64_t)token) {
          struct waiter *w = *pp;
          *pp = w->next;
          fuse_reply_err(w->req, EINTR);
          free(w);
          pthread_mutex_unlock(&fs->mu);
          return NULL;
        }
      }
    }
  }
  pthread_mutex_unlock(&fs->mu);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  static const char *const names[S_COUNT] = {"lookup", "getattr", "setattr", "open", "create", "read", "write", "flush",
                                             "release", "fsync", "unlink", "setlk", "getlk", "readdir", "other", "commit",
                                             "apply", "jsWaitNs", "jsWaits"};
  size_t argc = 1;
  napi_value argv[1], obj;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  CHECK(napi_create_object(env, &obj));
  for (int i = 0; i < S_COUNT; i++) set(env, obj, names[i], num(env, (double)__atomic_load_n(&fs->stats[i], __ATOMIC_RELAXED)));
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
      {"unmount", NULL, js_unmount, NULL, NULL, NULL, napi_default, NULL},
      {"addDatabase", NULL, js_add_database, NULL, NULL, NULL, napi_default, NULL},
      {"removeDatabase", NULL, js_remove_database, NULL, NULL, NULL, napi_default, NULL},
      {"updateDatabase", NULL, js_update_database, NULL, NULL, NULL, napi_default, NULL},
      {"setPrimary", NULL, js_set_primary, NULL, NULL, NULL, napi_default, NULL},
      {"setLag", NULL, js_set_lag, NULL, NULL, NULL, napi_default, NULL},
      {"complete", NULL, js_complete, NULL, NULL, NULL, napi_default, NULL},
      {"interrupt", NULL, js_interrupt, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"apply", NULL, js_apply, NULL, NULL, NULL, napi_default, NULL},
      {"lockDatabase", NULL, js_lock_database, NULL, NULL, NULL, napi_default, NULL},
      {"unlockDatabase", NULL, js_unlock_database, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
