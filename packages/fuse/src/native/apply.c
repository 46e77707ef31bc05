/* Writing a transaction into a replica's database the way SQLite readers can see:
 * SQLite's own locks taken only for the local write, the kernel's cached pages of
 * what changed invalidated, and a fresh WAL-index header so WAL readers drop their
 * page cache (reference §2.4–2.6). Runs on libuv's thread pool, never the JS thread. */
#include "fs.h"
#include "napi_args.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INTERNAL_OWNER 0xf000000000000000ULL

struct slot {
  int file; /* K_DB or K_SHM */
  uint64_t start, end;
  int type;
};

static int header_is_wal(struct db *db) {
  uint8_t hdr[20];
  return pread(db->fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr && hdr[18] == 2 && hdr[19] == 2;
}

/* SQLite's writer locks (reference §2.4): in rollback mode PENDING, RESERVED and the
 * SHARED range; in WAL mode DMS shared plus WRITE, CKPT, RECOVER and every read mark. */
static int write_plan(int wal, struct slot *out) {
  int n = 0;
  if (!wal) {
    out[n++] = (struct slot){K_DB, PENDING_BYTE, PENDING_BYTE, F_WRLCK};
    out[n++] = (struct slot){K_DB, RESERVED_BYTE, RESERVED_BYTE, F_WRLCK};
    out[n++] = (struct slot){K_DB, SHARED_FIRST, SHARED_FIRST + SHARED_SIZE - 1, F_WRLCK};
    return n;
  }
  out[n++] = (struct slot){K_SHM, SHM_DMS, SHM_DMS, F_RDLCK};
  out[n++] = (struct slot){K_SHM, SHM_WRITE, SHM_WRITE, F_WRLCK};
  out[n++] = (struct slot){K_SHM, SHM_CKPT, SHM_CKPT, F_WRLCK};
  out[n++] = (struct slot){K_SHM, SHM_RECOVER, SHM_RECOVER, F_WRLCK};
  for (int i = 0; i < 5; i++) out[n++] = (struct slot){K_SHM, SHM_READ0 + i, SHM_READ0 + i, F_WRLCK};
  return n;
}

static void release_internal(struct fs *fs, struct db *db, uint64_t owner) {
  pthread_mutex_lock(&fs->mu);
  for (int k = 0; k < DB_FILES; k++) {
    struct lockset *ls = &db->locks[k];
    if (lk_drop_owner(ls, owner)) lk_wake(fs, ls);
  }
  pthread_mutex_unlock(&fs->mu);
}

/* Takes the plan's locks one by one as each becomes free (a reader between two
 * statements leaves a gap), keeping what it has, until all are held or time is up. */
static int acquire_internal(struct fs *fs, struct db *db, uint64_t owner, int wal, int timeout_ms) {
  struct slot plan[16];
  int n = write_plan(wal, plan), held[16] = {0}, have = 0;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long delay_us = 50;
  for (;;) {
    pthread_mutex_lock(&fs->mu);
    if (db->removed) {
      pthread_mutex_unlock(&fs->mu);
      release_internal(fs, db, owner);
      return ENOENT;
    }
    for (int i = 0; i < n; i++) {
      if (held[i]) continue;
      struct lockset *ls = &db->locks[FILE_INDEX(plan[i].file)];
      if (lk_conflict(ls, owner, plan[i].start, plan[i].end, plan[i].type)) continue;
      lk_set(ls, owner, plan[i].start, plan[i].end, plan[i].type, getpid(), NULL);
      held[i] = 1;
      have++;
    }
    pthread_mutex_unlock(&fs->mu);
    if (have == n) return 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed_ms >= timeout_ms) {
      release_internal(fs, db, owner);
      return ETIMEDOUT;
    }
    usleep((useconds_t)delay_us);
    if (delay_us < 2000) delay_us *= 2;
  }
}

static void put32(uint8_t *p, uint32_t v) {
  memcpy(p, &v, 4); /* the WAL index is in native byte order */
}
static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Writes a fresh WAL-index header (mxFrame 0, change counter + 1, the database's
 * size) into the -shm file and into the kernel's page cache of it, which is what
 * every reader's mmap sees. Readers compare headers before each read transaction:
 * a changed one makes them drop their page cache. */
static void shm_rewrite(struct fs *fs, struct db *db, uint32_t page_size, uint32_t npages) {
  int fd = open(db->path[FILE_INDEX(K_SHM)], O_RDWR | O_CLOEXEC);
  if (fd < 0) return; /* no reader has the WAL index: nothing to tell */
  uint8_t old[136], hdr[136];
  memset(old, 0, sizeof old);
  ssize_t got = pread(fd, old, sizeof old, 0);
  memset(hdr, 0, sizeof hdr);
  uint32_t change = db->shm_change;
  if (got >= 12 && get32(old + 8) > change) change = get32(old + 8);
  change++;
  if (change == 0) change = 1;
  db->shm_change = change;
  put32(hdr + 0, 3007000);
  put32(hdr + 8, change);
  hdr[12] = 1; /* isInit */
  hdr[13] = (uint8_t)db->wal_be;
  uint16_t sz = (uint16_t)((page_size & 0xff00) | (page_size >> 16));
  memcpy(hdr + 14, &sz, 2);
  put32(hdr + 16, 0);      /* mxFrame: everything is in the database file */
  put32(hdr + 20, npages); /* nPage */
  /* salts: the previous header's, so a writer after promotion continues the WAL */
  memcpy(hdr + 32, old + 32, 8);
  if (get32(hdr + 32) == 0 && get32(hdr + 36) == 0) {
    put32(hdr + 32, (uint32_t)rand());
    put32(hdr + 36, (uint32_t)rand());
  }
  uint32_t s1 = 0, s2 = 0;
  for (int i = 0; i < 40; i += 8) {
    s1 += get32(hdr + i) + s2;
    s2 += get32(hdr + i + 4) + s1;
  }
  put32(hdr + 40, s1);
  put32(hdr + 44, s2);
  memcpy(hdr + 48, hdr, 48);
  /* checkpoint info: nBackfill 0, read marks {0, unused ×4} */
  put32(hdr + 96, 0);
  put32(hdr + 100, 0);
  for (int i = 1; i < 5; i++) put32(hdr + 100 + 4 * i, 0xffffffffu);
  memcpy(hdr + 120, old + 120, 8); /* the lock bytes are not ours to touch */
  if (pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) fs_log(fs, 3, "%s: cannot rewrite the WAL index header", db->name);
  close(fd);
  struct fuse_bufvec bv = FUSE_BUFVEC_INIT(sizeof hdr);
  bv.buf[0].mem = hdr;
  int rc = fuse_lowlevel_notify_store(fs->ch, db->nodes[FILE_INDEX(K_SHM)].ino, 0, &bv, 0);
  if (rc != 0 && rc != -ENOENT) fuse_lowlevel_notify_inval_inode(fs->ch, db->nodes[FILE_INDEX(K_SHM)].ino, 0, 0);
}

/* On a replica SQLite needs an existing -wal to open a WAL database read-only (it may
 * not create one there), and must not find one next to a rollback-mode database. */
void db_sync_wal_presence(struct fs *fs, struct db *db, int now) {
  const char *wal = db->path[FILE_INDEX(K_WAL)];
  struct stat st;
  int exists = stat(wal, &st) == 0;
  if (header_is_wal(db)) {
    if (exists) return;
    int fd = open(wal, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  } else {
    if (!exists || st.st_size != 0) return;
    unlink(wal);
  }
  db_invalidate_entry(fs, db, K_WAL, now);
}

static void invalidate_pages(struct fs *fs, struct db *db, const uint32_t *pgnos, uint32_t n, uint32_t ps) {
  uint64_t ino = db->nodes[0].ino;
  for (uint32_t i = 0; i < n;) {
    uint32_t j = i + 1;
    while (j < n && pgnos[j] == pgnos[j - 1] + 1) j++;
    fuse_lowlevel_notify_inval_inode(fs->ch, ino, (off_t)(pgnos[i] - 1) * ps, (off_t)(j - i) * ps);
    i = j;
  }
  if (n == 0) fuse_lowlevel_notify_inval_inode(fs->ch, ino, -1, 0);
}

struct apply_work {
  struct fs *fs;
  struct db *db;
  uint32_t page_size, commit, npages;
  const uint32_t *pgnos;
  const uint8_t *data;
  napi_ref refs[2];
  int timeout_ms;
  int sync;
  int lock_id; /* lockDatabase: the id of the lock taken */
  int err;
  const char *what;
  napi_deferred deferred;
  napi_async_work work;
};

static void apply_execute(napi_env env, void *data) {
  (void)env;
  struct apply_work *w = data;
  struct fs *fs = w->fs;
  struct db *db = w->db;
  uint64_t owner = INTERNAL_OWNER | (uint64_t)__atomic_add_fetch(&fs->next_internal_owner, 1, __ATOMIC_RELAXED);
  int was_wal = header_is_wal(db);
  w->err = acquire_internal(fs, db, owner, was_wal, w->timeout_ms);
  if (w->err) {
    w->what = "taking the database's write locks";
    return;
  }
  uint32_t ps = w->page_size;
  for (uint32_t i = 0; i < w->npages && !w->err; i++) {
    const uint8_t *page = w->data + (size_t)i * ps;
    off_t off = (off_t)(w->pgnos[i] - 1) * ps;
    size_t done = 0;
    while (done < ps) {
      ssize_t n = pwrite(db->fd, page + done, ps - done, off + (off_t)done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        w->err = n < 0 ? errno : EIO;
        w->what = "writing pages";
        break;
      }
      done += (size_t)n;
    }
  }
  if (!w->err && ftruncate(db->fd, (off_t)w->commit * ps) != 0) {
    w->err = errno;
    w->what = "setting the database size";
  }
  if (!w->err && w->sync && fdatasync(db->fd) != 0) {
    w->err = errno;
    w->what = "syncing the database";
  }
  db->page_size = ps;
  invalidate_pages(fs, db, w->pgnos, w->npages, ps);
  if (w->npages > 0 && w->pgnos[0] == 1) db_sync_wal_presence(fs, db, 1);
  shm_rewrite(fs, db, ps, w->commit);
  stat_inc(fs, S_APPLY);
  release_internal(fs, db, owner);
}

static void reject(napi_env env, napi_deferred d, int err, const char *what, const char *name) {
  char msg[4300];
  snprintf(msg, sizeof msg, "sqlrep fuse: %s of %s failed: %s", what ? what : "apply", name, strerror(err));
  napi_value e, m, code;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, err == ETIMEDOUT ? "ETIMEDOUT" : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &e);
  napi_reject_deferred(env, d, e);
}

static void work_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  struct apply_work *w = data;
  for (int i = 0; i < 2; i++)
    if (w->refs[i]) napi_delete_reference(env, w->refs[i]);
  if (w->err) {
    reject(env, w->deferred, w->err, w->what, w->db->name);
  } else {
    napi_value v;
    if (w->lock_id)
      napi_create_double(env, w->lock_id, &v);
    else
      napi_get_undefined(env, &v);
    napi_resolve_deferred(env, w->deferred, v);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

static struct db *find_db(napi_env env, struct fs *fs, napi_value v) {
  size_t len = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *name = malloc(len + 1);
  napi_get_value_string_utf8(env, v, name, len + 1, &len);
  pthread_mutex_lock(&fs->mu);
  struct db *db = db_by_name(fs, name);
  pthread_mutex_unlock(&fs->mu);
  if (!db) {
    char msg[4200];
    snprintf(msg, sizeof msg, "sqlrep fuse: no database %s is mounted", name);
    napi_throw_error(env, "ENOENT", msg);
  }
  free(name);
  return db;
}

static napi_value queue(napi_env env, struct apply_work *w, napi_async_execute_callback exec) {
  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "sqlrep-apply", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, exec, work_complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

/* apply(handle, name, pageSize, commit, pgnos: Uint32Array, data: Uint8Array, timeoutMs, sync) → Promise */
napi_value js_apply(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  struct db *db = find_db(env, fs, argv[1]);
  if (!db) return NULL;
  struct apply_work *w = calloc(1, sizeof *w);
  w->fs = fs;
  w->db = db;
  double ps = 0, commit = 0, timeout = 0;
  napi_get_value_double(env, argv[2], &ps);
  napi_get_value_double(env, argv[3], &commit);
  napi_get_value_double(env, argv[6], &timeout);
  bool sync = false;
  napi_get_value_bool(env, argv[7], &sync);
  w->page_size = (uint32_t)ps;
  w->commit = (uint32_t)commit;
  w->timeout_ms = (int)timeout;
  w->sync = sync;
  napi_typedarray_type t;
  size_t len = 0, dlen = 0;
  void *p = NULL, *d = NULL;
  napi_get_typedarray_info(env, argv[4], &t, &len, &p, NULL, NULL);
  napi_get_typedarray_info(env, argv[5], &t, &dlen, &d, NULL, NULL);
  w->npages = (uint32_t)len;
  w->pgnos = p;
  w->data = d;
  napi_create_reference(env, argv[4], 1, &w->refs[0]);
  napi_create_reference(env, argv[5], 1, &w->refs[1]);
  return queue(env, w, apply_execute);
}

static void lock_execute(napi_env env, void *data) {
  (void)env;
  struct apply_work *w = data;
  uint64_t owner = INTERNAL_OWNER | (uint64_t)w->lock_id;
  w->err = acquire_internal(w->fs, w->db, owner, header_is_wal(w->db), w->timeout_ms);
  if (w->err) w->what = "taking the database's write locks";
}

/* lockDatabase(handle, name, timeoutMs) → Promise<lock id> */
napi_value js_lock_database(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  struct db *db = find_db(env, fs, argv[1]);
  if (!db) return NULL;
  struct apply_work *w = calloc(1, sizeof *w);
  w->fs = fs;
  w->db = db;
  double timeout = 0;
  napi_get_value_double(env, argv[2], &timeout);
  w->timeout_ms = (int)timeout;
  w->lock_id = (int)(__atomic_add_fetch(&fs->next_internal_owner, 1, __ATOMIC_RELAXED) & 0x3fffffff);
  if (w->lock_id == 0) w->lock_id = 1;
  return queue(env, w, lock_execute);
}

static void unlock_execute(napi_env env, void *data) {
  (void)env;
  struct apply_work *w = data;
  struct fs *fs = w->fs;
  struct db *db = w->db;
  /* the database changed under the lock in ways only the backend knows: drop every
   * cached page and attribute, and tell WAL readers */
  fuse_lowlevel_notify_inval_inode(fs->ch, db->nodes[0].ino, 0, 0);
  uint8_t hdr[32];
  struct stat st;
  if (pread(db->fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr && fstat(db->fd, &st) == 0) {
    uint32_t ps = (uint32_t)hdr[16] << 8 | hdr[17];
    if (ps == 1) ps = 65536;
    if (ps >= 512) {
      db->page_size = ps;
      shm_rewrite(fs, db, ps, (uint32_t)(st.st_size / ps));
    }
  }
  db_sync_wal_presence(fs, db, 1);
  /* the backend may have removed a journal itself (rolling back a transaction whose
   * writer died on a replica): the kernel must not keep finding it */
  if (access(db->path[FILE_INDEX(K_JOURNAL)], F_OK) != 0) db_invalidate_entry(fs, db, K_JOURNAL, 1);
  pthread_mutex_lock(&fs->mu);
  wal_seek_end(db);
  pthread_mutex_unlock(&fs->mu);
  release_internal(fs, db, INTERNAL_OWNER | (uint64_t)w->lock_id);
  w->lock_id = 0;
}

/* unlockDatabase(handle, name, lockId) → Promise */
napi_value js_unlock_database(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  struct db *db = find_db(env, fs, argv[1]);
  if (!db) return NULL;
  struct apply_work *w = calloc(1, sizeof *w);
  w->fs = fs;
  w->db = db;
  double id = 0;
  napi_get_value_double(env, argv[2], &id);
  w->lock_id = (int)id;
  return queue(env, w, unlock_execute);
}
