/* The calls JavaScript makes on a mounted filesystem: keeping its database table,
 * .primary and .lag current, answering pending requests, reading the counters. */
#include "fs.h"
#include "napi_args.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* addDatabase(handle, name, [database, journal, wal, shm], writable, pos, posMtimeMs) → id */
napi_value js_add_database(napi_env env, napi_callback_info info) {
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

napi_value js_remove_database(napi_env env, napi_callback_info info) {
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
napi_value js_update_database(napi_env env, napi_callback_info info) {
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

napi_value js_set_primary(napi_env env, napi_callback_info info) {
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
napi_value js_set_lag(napi_env env, napi_callback_info info) {
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
napi_value js_complete(napi_env env, napi_callback_info info) {
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
napi_value js_interrupt(napi_env env, napi_callback_info info) {
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

napi_value js_stats(napi_env env, napi_callback_info info) {
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
