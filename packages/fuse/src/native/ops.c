/* The FUSE low-level operations. Plain reads, writes, fsyncs, attributes and locks
 * are served here, in the FUSE threads; JavaScript hears only of what matters:
 * commits, database creation and removal, the halt lock. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define FS(req) ((struct fs *)fuse_req_userdata(req))

static int is_virtual(int kind) {
  return kind == K_POS || kind == K_LOCK || kind == K_PRIMARY || kind == K_LAG;
}

static double attr_timeout(struct fs *fs, struct node *n) {
  return is_virtual(n->kind) ? 0 : fs->attr_timeout;
}

static void fill_entry(struct fs *fs, struct node *n, const struct stat *st, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->ino = n->ino;
  e->generation = 1;
  e->attr = *st;
  e->attr_timeout = attr_timeout(fs, n);
  e->entry_timeout = is_virtual(n->kind) ? 0 : fs->entry_timeout;
}

static void reply_negative(struct fs *fs, fuse_req_t req, const char *name) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  /* `.primary` comes and goes with the connection; everything else changes through
   * the mount or with an explicit invalidation */
  e.entry_timeout = strcmp(name, ".primary") == 0 ? 0 : fs->entry_timeout;
  fuse_reply_entry(req, &e);
}

static struct handle *handle_new(struct node *n, int fd, int flags, pid_t pid) {
  struct handle *h = calloc(1, sizeof *h);
  h->node = n;
  h->fd = fd;
  h->flags = flags;
  h->pid = pid;
  return h;
}

static struct lockset *lockset_of(struct node *n) {
  return n->db ? &n->db->locks[FILE_INDEX(n->kind)] : NULL;
}

/* Starts a commit: posts the captured transactions to JavaScript, which answers
 * with the pending request's token once the backend has them. */
static void post_commit(struct fs *fs, struct pending *p, struct txinfo *tx, int ntx) {
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_COMMIT;
  ev->token = p->token;
  ev->db = p->db->id;
  ev->tx = tx;
  ev->ntx = ntx;
  fs->stats[S_COMMIT] += (uint64_t)ntx;
  fs_post(fs, ev);
}

static void ll_init(void *userdata, struct fuse_conn_info *conn) {
  struct fs *fs = userdata;
  conn->want |= FUSE_CAP_POSIX_LOCKS | FUSE_CAP_BIG_WRITES | FUSE_CAP_ASYNC_READ;
  conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
  conn->max_write = 131072;
  if (fs->debug)
    fprintf(stderr, "[sqlrep-fuse] FUSE %u.%u capable %#x want %#x max_write %u\n", conn->proto_major, conn->proto_minor,
            conn->capable, conn->want, conn->max_write);
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_LOOKUP);
  pthread_mutex_lock(&fs->mu);
  struct node *dn = node_get(fs, parent), *n = NULL;
  int err = dn && dn->kind == K_DIR && !dn->dir->removed ? name_resolve(fs, dn->dir, name, &n) : ENOENT;
  pthread_mutex_unlock(&fs->mu);
  if (err) {
    reply_negative(fs, req, name);
    return;
  }
  struct stat st;
  err = node_stat(fs, n, NULL, &st);
  if (err == ENOENT) {
    reply_negative(fs, req, name);
    return;
  }
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  struct fuse_entry_param e;
  fill_entry(fs, n, &st, &e);
  fuse_reply_entry(req, &e);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, unsigned long nlookup) {
  (void)ino;
  (void)nlookup;
  fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_GETATTR);
  struct node *n = node_get(fs, ino);
  if (!n) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st;
  int err = node_stat(fs, n, fi ? (struct handle *)(uintptr_t)fi->fh : NULL, &st);
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_attr(req, &st, attr_timeout(fs, n));
}

/* How a write to the database file fits SQLite's protocol, from the locks held:
 * 0 a checkpoint (the WAL has it already), 1 a rollback-journal transaction, 2 a raw
 * write by something that is not SQLite (cp), -1 refused (a raw write while SQLite
 * connections hold locks). Called with fs->mu held. */
static int classify_db_write(struct db *db) {
  if (lk_anyone_holds(&db->locks[FILE_INDEX(K_SHM)], SHM_CKPT, F_WRLCK)) return 0;
  struct lockset *ls = &db->locks[0];
  for (struct lk *l = ls->head; l; l = l->next) {
    if (l->type != F_WRLCK || l->end < PENDING_BYTE || l->start >= SHARED_FIRST + SHARED_SIZE) continue;
    /* a writer: a journal open means a transaction; else, with a WAL, the checkpoint
     * SQLite runs when the last connection closes (its WAL locks are private then) */
    if (db->journal_handles > 0) return 1;
    return real_exists(db, K_WAL) ? 0 : 1;
  }
  if (!lk_any_lock(ls) && !lk_any_lock(&db->locks[FILE_INDEX(K_SHM)])) return 2;
  return -1;
}

static int do_truncate(struct node *n, struct handle *h, off_t size) {
  int rc = h && h->fd >= 0 ? ftruncate(h->fd, size) : truncate(n->db->path[FILE_INDEX(n->kind)], size);
  return rc == 0 ? 0 : errno;
}

static void reply_attr_of(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h) {
  struct stat st;
  int err = node_stat(fs, n, h, &st);
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_attr(req, &st, attr_timeout(fs, n));
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_SETATTR);
  struct node *n = node_get(fs, ino);
  if (!n) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
  /* mode, owner and times are accepted and ignored: SQLite chowns new journals when
   * it runs as root, and the real files belong to the daemon */
  if (!(to_set & FUSE_SET_ATTR_SIZE) || n->kind == K_DIR || is_virtual(n->kind)) {
    reply_attr_of(fs, req, n, h);
    return;
  }
  struct db *db = n->db;
  pid_t pid = fuse_req_ctx(req)->pid;
  pthread_mutex_lock(&fs->mu);
  if (db->failed) {
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, EIO);
    return;
  }
  if (!db->writable && n->kind != K_SHM) {
    db_log_replica_write(fs, db, pid, "truncated a file of");
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, EACCES);
    return;
  }
  if (n->kind == K_JOURNAL && attr->st_size == 0 && db->ndirty > 0) {
    /* TRUNCATE journal mode: this truncation is the commit */
    struct txinfo *tx = calloc(1, sizeof *tx);
    int err = capture_rollback(db, M_ROLLBACK, pid, tx);
    if (err || !tx->buf) {
      free(tx);
      pthread_mutex_unlock(&fs->mu);
      if (err) {
        fuse_reply_err(req, err);
        return;
      }
      err = do_truncate(n, h, 0);
      if (err)
        fuse_reply_err(req, err);
      else
        reply_attr_of(fs, req, n, h);
      return;
    }
    struct pending *p = pending_new(fs, P_TRUNCATE_JOURNAL, req, db);
    p->h = h;
    p->attr = *attr;
    p->to_set = to_set;
    post_commit(fs, p, tx, 1);
    pthread_mutex_unlock(&fs->mu);
    return;
  }
  if (n->kind == K_DB) {
    int kind = classify_db_write(db);
    /* open(O_TRUNC) arrives here without its file: the writes that follow commit */
    if (kind == 2 && h) db->raw = h;
    if (kind == -1) {
      pthread_mutex_unlock(&fs->mu);
      fs_log(fs, 2, "refused to truncate %s (pid %d) outside SQLite's locking while SQLite connections have it open; "
                    "copy a database in only while it is not in use", db->name, (int)pid);
      fuse_reply_err(req, EBUSY);
      return;
    }
  }
  pthread_mutex_unlock(&fs->mu);
  int err = do_truncate(n, h, attr->st_size);
  if (err)
    fuse_reply_err(req, err);
  else
    reply_attr_of(fs, req, n, h);
}

static int open_real(struct node *n, int flags, int create) {
  int f = (flags & O_ACCMODE) | O_CLOEXEC;
  if (create) f |= O_CREAT | (flags & O_EXCL);
  int fd = open(n->db->path[FILE_INDEX(n->kind)], f, 0644);
  return fd < 0 ? -errno : fd;
}

/* Opens a node for fuse_reply_open/create: a real file, or a snapshot of a virtual
 * file's content (served with direct_io, so every open reads it fresh). */
static int open_node(struct fs *fs, struct node *n, int flags, pid_t pid, int create, struct fuse_file_info *fi,
                     struct handle **out) {
  int write = (flags & O_ACCMODE) != O_RDONLY;
  if (n->kind == K_DIR) return EISDIR;
  if (is_virtual(n->kind)) {
    if (write && n->kind != K_LOCK) return EACCES;
    struct handle *h = handle_new(n, -1, flags, pid);
    pthread_mutex_lock(&fs->mu);
    if (n->kind == K_POS) {
      h->vlen = 34;
      h->vdata = malloc(34);
      memcpy(h->vdata, n->db->pos, 34);
    } else if (n->kind == K_PRIMARY) {
      if (!fs->primary) {
        pthread_mutex_unlock(&fs->mu);
        free(h);
        return ENOENT;
      }
      h->vlen = fs->primary_len;
      h->vdata = malloc(h->vlen);
      memcpy(h->vdata, fs->primary, h->vlen);
    } else if (n->kind == K_LAG) {
      h->vdata = malloc(24);
      format_lag(fs, h->vdata, &h->vlen);
    }
    pthread_mutex_unlock(&fs->mu);
    fi->direct_io = 1;
    fi->keep_cache = 0;
    *out = h;
    return 0;
  }
  struct db *db = n->db;
  pthread_mutex_lock(&fs->mu);
  int failed = db->failed, writable = db->writable;
  if (!writable && write && (n->kind == K_JOURNAL || n->kind == K_WAL))
    /* SQLite then opens the WAL read-only and answers writes with SQLITE_READONLY */
    db_log_replica_write(fs, db, pid, n->kind == K_WAL ? "opened the WAL for writing:" : "opened a journal of");
  pthread_mutex_unlock(&fs->mu);
  if (failed) return EIO;
  if (!writable && write && (n->kind == K_JOURNAL || n->kind == K_WAL)) return EACCES;
  int fd = open_real(n, flags, create);
  if (fd < 0) return -fd;
  *out = handle_new(n, fd, flags, pid);
  if (n->kind == K_JOURNAL) __atomic_add_fetch(&db->journal_handles, 1, __ATOMIC_RELAXED);
  /* The database file and -shm go through the kernel's page cache, kept across opens:
   * every change goes through the mount, and the daemon invalidates what it writes
   * itself (replica applies); -shm must, SQLite mmaps it. The WAL and the journal are
   * appended in small unaligned writes, which the page cache would split at every
   * page boundary (a partly written page is not up to date): direct I/O makes each
   * write one request. SQLite reads them back rarely (WAL frames of pages newer than
   * a reader's cache, a rollback). */
  int direct = n->kind == K_WAL || n->kind == K_JOURNAL;
  fi->direct_io = direct;
  fi->keep_cache = !direct;
  return 0;
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_OPEN);
  struct node *n = node_get(fs, ino);
  if (!n || (n->db && n->db->removed)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct handle *h = NULL;
  int err = open_node(fs, n, fi->flags, fuse_req_ctx(req)->pid, 0, fi, &h);
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = (uintptr_t)h;
  if (fuse_reply_open(req, fi) != 0) {
    if (h->fd >= 0) close(h->fd);
    free(h->vdata);
    free(h);
  }
}

static int reserved_name(struct dir *dir, struct fs *fs, const char *name) {
  if (dir == fs->dirs[0] && (strcmp(name, ".primary") == 0 || strcmp(name, ".lag") == 0)) return 1;
  /* SQLite's super-journal of a multi-database transaction: "<db>-mjXXXXXXXX" */
  const char *mj = strstr(name, "-mj");
  if (mj && strlen(mj) == 11) return 1;
  return 0;
}

static void reply_created(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h, struct fuse_file_info *fi) {
  struct stat st;
  int err = node_stat(fs, n, h, &st);
  if (err) {
    if (h->fd >= 0) close(h->fd);
    free(h);
    fuse_reply_err(req, err);
    return;
  }
  struct fuse_entry_param e;
  fill_entry(fs, n, &st, &e);
  fi->fh = (uintptr_t)h;
  if (fuse_reply_create(req, &e, fi) != 0) {
    if (h->fd >= 0) close(h->fd);
    free(h);
  }
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_CREATE);
  pid_t pid = fuse_req_ctx(req)->pid;
  pthread_mutex_lock(&fs->mu);
  struct node *dn = node_get(fs, parent), *n = NULL;
  if (!dn || dn->kind != K_DIR || dn->dir->removed) {
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct dir *dir = dn->dir;
  if (name_resolve(fs, dir, name, &n) == 0) {
    pthread_mutex_unlock(&fs->mu);
    if (fi->flags & O_EXCL) {
      fuse_reply_err(req, EEXIST);
      return;
    }
    struct handle *h = NULL;
    int err = open_node(fs, n, fi->flags, pid, n->kind <= K_SHM && n->kind >= K_DB, fi, &h);
    if (err)
      fuse_reply_err(req, err);
    else
      reply_created(fs, req, n, h, fi);
    return;
  }
  if (reserved_name(dir, fs, name)) {
    pthread_mutex_unlock(&fs->mu);
    fs_log(fs, 2, "refused to create %s (pid %d): the name is reserved (.primary, .lag, SQLite super-journals)", name, (int)pid);
    fuse_reply_err(req, EPERM);
    return;
  }
  char *base = NULL;
  int kind = name_kind(name, &base);
  if (kind == K_DB) {
    /* a new database: the backend creates it, then we open it */
    struct pending *p = pending_new(fs, P_CREATE, req, NULL);
    p->parent = dir;
    p->name = full_db_name(dir, base);
    p->fi = *fi;
    p->mode = mode;
    struct event *ev = calloc(1, sizeof *ev);
    ev->type = E_CREATE;
    ev->token = p->token;
    ev->str = strdup(p->name);
    ev->pid = pid;
    fs_post(fs, ev);
    pthread_mutex_unlock(&fs->mu);
    free(base);
    return;
  }
  struct db *db = db_find(fs, dir, base);
  free(base);
  if (!db || kind == K_POS || kind == K_LOCK) {
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, ENOENT);
    return;
  }
  int refused = !db->writable && kind != K_SHM;
  if (refused) db_log_replica_write(fs, db, pid, kind == K_JOURNAL ? "tried to create the journal of" : "tried to create the WAL of");
  pthread_mutex_unlock(&fs->mu);
  if (refused) {
    /* EACCES on a new journal is what SQLite reports as SQLITE_READONLY */
    fuse_reply_err(req, EACCES);
    return;
  }
  n = &db->nodes[FILE_INDEX(kind)];
  struct handle *h = NULL;
  int err = open_node(fs, n, fi->flags, pid, 1, fi, &h);
  if (!err) __atomic_store_n(&db->dirents_dirty, 1, __ATOMIC_RELAXED);
  if (err)
    fuse_reply_err(req, err);
  else
    reply_created(fs, req, n, h, fi);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  (void)mode;
  struct fs *fs = FS(req);
  stat_inc(fs, S_OTHER);
  pthread_mutex_lock(&fs->mu);
  struct node *dn = node_get(fs, parent), *n = NULL;
  int err = 0;
  if (!dn || dn->kind != K_DIR || dn->dir->removed)
    err = ENOENT;
  else if (name_resolve(fs, dn->dir, name, &n) == 0 || reserved_name(dn->dir, fs, name))
    err = EEXIST;
  struct dir *d = err ? NULL : dir_create(fs, dn->dir, name);
  pthread_mutex_unlock(&fs->mu);
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  struct stat st;
  node_stat(fs, &d->node, NULL, &st);
  struct fuse_entry_param e;
  fill_entry(fs, &d->node, &st, &e);
  fuse_reply_entry(req, &e);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_OTHER);
  pthread_mutex_lock(&fs->mu);
  struct node *dn = node_get(fs, parent);
  struct dir *d = dn && dn->kind == K_DIR ? dir_find(fs, dn->dir, name) : NULL;
  int err = d ? 0 : ENOENT;
  for (int i = 0; !err && i < fs->ndbs; i++)
    if (fs->dbs[i] && !fs->dbs[i]->removed && fs->dbs[i]->dir == d) err = ENOTEMPTY;
  for (int i = 0; !err && i < fs->ndirs; i++)
    if (!fs->dirs[i]->removed && fs->dirs[i]->parent == d) err = ENOTEMPTY;
  if (!err) d->removed = 1;
  pthread_mutex_unlock(&fs->mu);
  fuse_reply_err(req, err);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_UNLINK);
  pid_t pid = fuse_req_ctx(req)->pid;
  pthread_mutex_lock(&fs->mu);
  struct node *dn = node_get(fs, parent), *n = NULL;
  int err = dn && dn->kind == K_DIR ? name_resolve(fs, dn->dir, name, &n) : ENOENT;
  if (err) {
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, err);
    return;
  }
  if (n->kind == K_DIR || is_virtual(n->kind)) {
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, n->kind == K_DIR ? EISDIR : EPERM);
    return;
  }
  struct db *db = n->db;
  if (!db->writable && n->kind != K_SHM) {
    db_log_replica_write(fs, db, pid, n->kind == K_DB ? "tried to delete" : "tried to delete a file of");
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, EACCES);
    return;
  }
  if (n->kind == K_DB) {
    struct pending *p = pending_new(fs, P_UNLINK_DB, req, db);
    struct event *ev = calloc(1, sizeof *ev);
    ev->type = E_DROP;
    ev->token = p->token;
    ev->db = db->id;
    ev->str = strdup(db->name);
    ev->pid = pid;
    fs_post(fs, ev);
    pthread_mutex_unlock(&fs->mu);
    return;
  }
  if (n->kind == K_JOURNAL && db->ndirty > 0) {
    /* DELETE journal mode: removing the journal is the commit */
    struct txinfo *tx = calloc(1, sizeof *tx);
    err = capture_rollback(db, M_ROLLBACK, pid, tx);
    if (!err && tx->buf) {
      struct pending *p = pending_new(fs, P_UNLINK_JOURNAL, req, db);
      post_commit(fs, p, tx, 1);
      pthread_mutex_unlock(&fs->mu);
      return;
    }
    free(tx);
    if (err) {
      pthread_mutex_unlock(&fs->mu);
      fuse_reply_err(req, err);
      return;
    }
  }
  if (n->kind == K_WAL) wal_forget(db);
  db->dirents_dirty = 1;
  pthread_mutex_unlock(&fs->mu);
  fuse_reply_err(req, unlink(db->path[FILE_INDEX(n->kind)]) == 0 ? 0 : errno);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname) {
  (void)parent;
  (void)name;
  (void)newparent;
  (void)newname;
  stat_inc(FS(req), S_OTHER);
  /* mv then copies and deletes, which the mount turns into a create, a commit and a drop */
  fuse_reply_err(req, EXDEV);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_READ);
  (void)ino;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->fd < 0) {
    size_t len = h->vlen, at = (size_t)off;
    fuse_reply_buf(req, at < len ? h->vdata + at : NULL, at < len ? (len - at < size ? len - at : size) : 0);
    return;
  }
  char stackbuf[16384];
  char *buf = size <= sizeof stackbuf ? stackbuf : malloc(size);
  ssize_t n;
  do n = pread(h->fd, buf, size, off);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    fuse_reply_err(req, errno);
  else
    fuse_reply_buf(req, buf, (size_t)n);
  if (buf != stackbuf) free(buf);
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Whether this WAL write completed a commit frame (a frame whose header carries the
 * database size): SQLite writes a frame's header, then its page, and the commit
 * frame last. Sets *frame_start. */
static int completes_commit_frame(struct db *db, int fd, const char *buf, size_t size, off_t off, uint64_t *frame_start) {
  uint8_t hdr[32];
  if (off == 0 && size >= 32) {
    db->wal_hdr_page_size = be32((const uint8_t *)buf + 8);
  } else if (!db->wal_hdr_page_size) {
    if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) return 0;
    db->wal_hdr_page_size = be32(hdr + 8);
  }
  uint64_t ps = db->wal_hdr_page_size, fsz = 24 + ps, end = (uint64_t)off + size;
  if (ps < 512 || ps > 65536 || end < 32 + fsz || (end - 32) % fsz != 0) return 0;
  uint64_t start = end - fsz;
  uint8_t fh[24];
  if (start >= (uint64_t)off)
    memcpy(fh, buf + (start - (uint64_t)off), 24);
  else if (pread(fd, fh, 24, (off_t)start) != 24)
    return 0;
  *frame_start = start;
  return be32(fh + 4) != 0;
}

static int all_zero(const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (buf[i]) return 0;
  return 1;
}

/* Room kept free under data.dir besides a rollback transaction's journal: its LTX file
 * at commit needs about the journal's size again, plus the pages it appends. */
#define JOURNAL_RESERVE (1u << 20)

/* A rollback-journal commit is captured at the journal's deletion, and a commit refused
 * there (ENOSPC writing its LTX file) reaches SQLite only as a failed unlink, which it
 * reports as "disk I/O error" (SQLITE_IOERR_DELETE). So a journal write is refused with
 * ENOSPC while the free space could not hold the journal again plus the reserve: SQLite
 * reports that as SQLITE_FULL and rolls back before touching the database. */
static int journal_room_short(int fd, off_t end) {
  struct statvfs sv;
  if (fstatvfs(fd, &sv) != 0) return 0;
  uint64_t free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
  return free_bytes < 2 * (uint64_t)end + JOURNAL_RESERVE;
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_WRITE);
  (void)ino;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  struct node *n = h->node;
  if (h->fd < 0) {
    fuse_reply_err(req, n->kind == K_LOCK ? EIO : EBADF);
    return;
  }
  struct db *db = n->db;
  if (n->kind != K_SHM) {
    pid_t pid = fuse_req_ctx(req)->pid;
    pthread_mutex_lock(&fs->mu);
    int err = 0;
    if (db->failed) {
      err = EIO;
    } else if (!db->writable) {
      db_log_replica_write(fs, db, pid, "wrote to");
      err = EACCES;
    } else if (n->kind == K_WAL) {
      if (!lk_anyone_holds(&db->locks[FILE_INDEX(K_SHM)], SHM_WRITE, F_WRLCK)) {
        /* PRAGMA locking_mode=EXCLUSIVE keeps the WAL index in heap memory and takes no
         * WAL locks: its commits could not be seen, so its writes are refused */
        fs_log(fs, 3, "refused a WAL write to %s by pid %d: the writer holds no WAL write lock; PRAGMA "
                      "locking_mode=EXCLUSIVE is not supported on a sqlrep mount (its commits could not be captured); use "
                      "locking_mode=NORMAL", db->name, (int)pid);
        err = EIO;
      }
    } else if (n->kind == K_JOURNAL) {
      if (size == 28 && off == 0 && db->ndirty > 0 && all_zero(buf, size)) {
        /* PERSIST journal mode: zeroing the header is the commit */
        struct txinfo *tx = calloc(1, sizeof *tx);
        err = capture_rollback(db, M_ROLLBACK, pid, tx);
        if (!err && tx->buf) {
          struct pending *p = pending_new(fs, P_ZERO_JOURNAL, req, db);
          p->h = h;
          p->buf = malloc(size);
          memcpy(p->buf, buf, size);
          p->len = size;
          p->off = off;
          post_commit(fs, p, tx, 1);
          pthread_mutex_unlock(&fs->mu);
          return;
        }
        free(tx);
      }
      if (!err && journal_room_short(h->fd, off + (off_t)size)) err = ENOSPC;
    } else if (n->kind == K_DB) {
      int kind = classify_db_write(db);
      if (kind == 1) {
        dirty_mark(db, db_page_size(db, buf, size, off), off, size);
      } else if (kind == 2) {
        if (off == 0 && size >= 16 && memcmp(buf, "SQLite format 3", 16) != 0) {
          fs_log(fs, 2, "refused a write to %s by pid %d: the data copied in is not a SQLite database", db->name, (int)pid);
          err = EINVAL;
        } else {
          db->raw = h;
        }
      } else if (kind == -1) {
        fs_log(fs, 2, "refused a write to %s by pid %d outside SQLite's locking while SQLite connections have it open; copy "
                      "a database in only while it is not in use", db->name, (int)pid);
        err = EBUSY;
      }
    }
    pthread_mutex_unlock(&fs->mu);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
  }
  ssize_t w;
  do w = pwrite(h->fd, buf, size, off);
  while (w < 0 && errno == EINTR);
  if (w < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  uint64_t frame = 0;
  if (n->kind == K_WAL && (size_t)w == size && completes_commit_frame(db, h->fd, buf, size, off, &frame)) {
    /* WAL mode: the commit frame is written, SQLite has not yet published the
     * transaction in the WAL index. Capturing it now lets a refusal fail the write,
     * which SQLite rolls back cleanly. */
    pthread_mutex_lock(&fs->mu);
    struct pending saved = {0};
    saved.wal_known = db->wal_known;
    saved.wal_off = db->wal_off;
    memcpy(saved.wal_ck, db->wal_ck, sizeof saved.wal_ck);
    memcpy(saved.wal_salt, db->wal_salt, sizeof saved.wal_salt);
    saved.wal_page_size = db->wal_page_size;
    struct txinfo *tx = NULL;
    int count = 0;
    int err = capture_wal(db, fuse_req_ctx(req)->pid, 1, &tx, &count);
    if (!err && count > 0) {
      struct pending *p = pending_new(fs, P_WAL_COMMIT, req, db);
      p->h = h;
      p->len = (size_t)w;
      p->off = (off_t)frame;
      p->wal_known = saved.wal_known;
      p->wal_off = saved.wal_off;
      memcpy(p->wal_ck, saved.wal_ck, sizeof p->wal_ck);
      memcpy(p->wal_salt, saved.wal_salt, sizeof p->wal_salt);
      p->wal_page_size = saved.wal_page_size;
      post_commit(fs, p, tx, count);
      pthread_mutex_unlock(&fs->mu);
      return;
    }
    free(tx);
    pthread_mutex_unlock(&fs->mu);
  }
  fuse_reply_write(req, (size_t)w);
}

/* Runs the commit a released lock or a closed file calls for, if any: the WAL write
 * lock of `owner`, a rollback transaction without a journal file, a raw copy. Returns
 * the pending request when JavaScript must answer first. Called with fs->mu held. */
static struct pending *commit_on_release(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h, uint64_t owner,
                                         int had_wal_write, int had_db_write, int kind, int *err) {
  struct db *db = n->db;
  pid_t pid = fuse_req_ctx(req)->pid;
  *err = 0;
  if (n->kind == K_SHM && had_wal_write) {
    struct txinfo *tx = NULL;
    int count = 0;
    *err = capture_wal(db, pid, 1, &tx, &count);
    if (*err || count == 0) {
      free(tx);
      return NULL;
    }
    struct pending *p = pending_new(fs, kind, req, db);
    p->owner = owner;
    post_commit(fs, p, tx, count);
    return p;
  }
  if (n->kind == K_DB && had_db_write && db->ndirty > 0 && !real_exists(db, K_JOURNAL)) {
    /* journal_mode=MEMORY or OFF: the end of the write lock ends the transaction */
    struct txinfo *tx = calloc(1, sizeof *tx);
    *err = capture_rollback(db, M_ROLLBACK, pid, tx);
    if (*err || !tx->buf) {
      free(tx);
      return NULL;
    }
    struct pending *p = pending_new(fs, kind, req, db);
    p->owner = owner;
    post_commit(fs, p, tx, 1);
    return p;
  }
  if (n->kind == K_DB && h && db->raw == h) {
    db->raw = NULL;
    struct txinfo *tx = calloc(1, sizeof *tx);
    *err = capture_rollback(db, M_RAW, pid, tx);
    if (!*err && !tx->buf)
      fs_log(fs, 2, "%s was emptied outside SQLite (pid %d): nothing to commit; its log still holds the old content", db->name, (int)pid);
    if (*err || !tx->buf) {
      if (*err) {
        db->failed = 1;
        fs_log(fs, 3, "%s: the file copied in is not a whole SQLite database (error %d); it was not committed, and the "
                      "database refuses access until it is deleted and copied again", db->name, *err);
      }
      free(tx);
      return NULL;
    }
    struct pending *p = pending_new(fs, kind, req, db);
    p->owner = owner;
    p->h = h;
    post_commit(fs, p, tx, 1);
    return p;
  }
  return NULL;
}

static void unhalt(struct fs *fs, struct db *db) {
  db->halt_state = 0;
  db->halt_owner = 0;
  db->halt_fh = NULL;
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_UNHALT;
  ev->db = db->id;
  fs_post(fs, ev);
}

static void start_halt(struct fs *fs, struct db *db, fuse_req_t req, uint64_t owner, struct handle *fh, pid_t pid);

static void halt_wake(struct fs *fs, struct db *db) {
  if (db->halt_state != 0 || !db->halt_waiters) return;
  struct waiter *w = db->halt_waiters;
  db->halt_waiters = w->next;
  start_halt(fs, db, w->req, w->owner, w->fh, w->pid);
  free(w);
}

static void on_interrupt(fuse_req_t req, void *data) {
  struct fs *fs = FS(req);
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_INTERRUPT;
  ev->token = (uint64_t)(uintptr_t)data;
  fs_post(fs, ev);
}

static void start_halt(struct fs *fs, struct db *db, fuse_req_t req, uint64_t owner, struct handle *fh, pid_t pid) {
  struct pending *p = pending_new(fs, P_HALT, req, db);
  p->owner = owner;
  p->h = fh;
  p->pid = pid;
  db->halt_state = 1;
  db->halt_token = p->token;
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_HALT;
  ev->token = p->token;
  ev->db = db->id;
  ev->pid = pid;
  fs_post(fs, ev);
  fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)p->token);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_FLUSH);
  (void)ino;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  struct node *n = h->node;
  struct lockset *ls = lockset_of(n);
  if (!ls) {
    fuse_reply_err(req, 0);
    return;
  }
  struct db *db = n->db;
  uint64_t owner = fi->lock_owner;
  pthread_mutex_lock(&fs->mu);
  /* a POSIX halt lock belongs to the process and goes with any close; an OFD one
   * (litefs-go, litefs-node) has its open file as owner and goes at release */
  if (n->kind == K_LOCK && db->halt_state == 2 && db->halt_owner == owner) {
    unhalt(fs, db);
    halt_wake(fs, db);
  }
  int had_wal = n->kind == K_SHM && lk_owner_holds(ls, owner, SHM_WRITE, F_WRLCK);
  int had_dbw = n->kind == K_DB && lk_owner_has_write(ls, owner, PENDING_BYTE, SHARED_FIRST + SHARED_SIZE);
  int err = 0;
  /* POSIX: closing any descriptor drops all of the process's locks on the file, but
   * only once the transaction it ends is captured */
  struct pending *p = commit_on_release(fs, req, n, h, owner, had_wal, had_dbw, P_FLUSH, &err);
  if (!p) {
    if (err && had_wal) {
      db->failed = 1;
      fs_log(fs, 3, "%s: capturing the WAL transaction at close failed (error %d); refusing access", db->name, err);
    }
    if (lk_drop_owner(ls, owner)) lk_wake(fs, ls);
  }
  pthread_mutex_unlock(&fs->mu);
  if (!p) fuse_reply_err(req, 0);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_RELEASE);
  (void)ino;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  struct node *n = h->node;
  struct lockset *ls = lockset_of(n);
  struct pending *p = NULL;
  if (ls) {
    struct db *db = n->db;
    pthread_mutex_lock(&fs->mu);
    if (n->kind == K_LOCK && db->halt_state == 2 && db->halt_fh == h) {
      unhalt(fs, db);
      halt_wake(fs, db);
    }
    for (struct waiter **pp = &db->halt_waiters; *pp;) {
      if ((*pp)->fh == h) {
        struct waiter *w = *pp;
        *pp = w->next;
        fuse_reply_err(w->req, EINTR);
        free(w);
      } else {
        pp = &(*pp)->next;
      }
    }
    if (lk_drop_fh(ls, h)) lk_wake(fs, ls);
    int err = 0;
    p = commit_on_release(fs, req, n, h, 0, 0, 0, P_RELEASE, &err);
    if (p) p->h = h;
    pthread_mutex_unlock(&fs->mu);
  }
  if (p) return; /* finish_pending closes the handle */
  if (n->kind == K_JOURNAL) __atomic_sub_fetch(&n->db->journal_handles, 1, __ATOMIC_RELAXED);
  if (h->fd >= 0) close(h->fd);
  free(h->vdata);
  free(h);
  fuse_reply_err(req, 0);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_FSYNC);
  (void)ino;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  if (h->fd < 0) {
    fuse_reply_err(req, 0);
    return;
  }
  int rc = datasync ? fdatasync(h->fd) : fsync(h->fd);
  int err = rc == 0 ? 0 : errno;
  struct node *n = h->node;
  if (!err && (n->kind == K_DB || n->kind == K_JOURNAL)) {
    pthread_mutex_lock(&fs->mu);
    n->db->synced = 1;
    pthread_mutex_unlock(&fs->mu);
  }
  if (!err && n->kind == K_WAL) {
    /* SQLite made its WAL durable (synchronous=FULL): so must the backend's log be */
    struct db *db = n->db;
    pthread_mutex_lock(&fs->mu);
    if (db->wal_unsynced) {
      db->wal_unsynced = 0;
      struct pending *p = pending_new(fs, P_SYNC, req, db);
      struct event *ev = calloc(1, sizeof *ev);
      ev->type = E_SYNC;
      ev->token = p->token;
      ev->db = db->id;
      fs_post(fs, ev);
      pthread_mutex_unlock(&fs->mu);
      return;
    }
    pthread_mutex_unlock(&fs->mu);
  }
  fuse_reply_err(req, err);
}

struct dirbuf {
  char *p;
  size_t size;
};

static void dirbuf_add(fuse_req_t req, struct dirbuf *b, const char *name, fuse_ino_t ino, mode_t mode) {
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_ino = ino;
  st.st_mode = mode;
  size_t old = b->size;
  b->size += fuse_add_direntry(req, NULL, 0, name, NULL, 0);
  b->p = realloc(b->p, b->size);
  fuse_add_direntry(req, b->p + old, b->size - old, name, &st, (off_t)b->size);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_OTHER);
  pthread_mutex_lock(&fs->mu);
  struct node *n = node_get(fs, ino);
  if (!n || n->kind != K_DIR || n->dir->removed) {
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, n ? ENOTDIR : ENOENT);
    return;
  }
  struct dir *d = n->dir;
  struct dirbuf *b = calloc(1, sizeof *b);
  dirbuf_add(req, b, ".", d->node.ino, S_IFDIR);
  dirbuf_add(req, b, "..", d->parent ? d->parent->node.ino : d->node.ino, S_IFDIR);
  for (int i = 0; i < fs->ndirs; i++)
    if (!fs->dirs[i]->removed && fs->dirs[i]->parent == d) dirbuf_add(req, b, fs->dirs[i]->name, fs->dirs[i]->node.ino, S_IFDIR);
  for (int i = 0; i < fs->ndbs; i++) {
    struct db *db = fs->dbs[i];
    if (!db || db->removed || db->dir != d) continue;
    char name[4096];
    dirbuf_add(req, b, db->base, db->nodes[0].ino, S_IFREG);
    static const char *const suffix[] = {"-journal", "-wal", "-shm"};
    for (int k = K_JOURNAL; k <= K_SHM; k++) {
      if (!real_exists(db, k)) continue;
      snprintf(name, sizeof name, "%s%s", db->base, suffix[k - K_JOURNAL]);
      dirbuf_add(req, b, name, db->nodes[FILE_INDEX(k)].ino, S_IFREG);
    }
    snprintf(name, sizeof name, "%s-pos", db->base);
    dirbuf_add(req, b, name, db->nodes[FILE_INDEX(K_POS)].ino, S_IFREG);
  }
  if (d == fs->dirs[0]) {
    if (fs->primary) dirbuf_add(req, b, ".primary", fs->primary_node.ino, S_IFREG);
    dirbuf_add(req, b, ".lag", fs->lag_node.ino, S_IFREG);
  }
  pthread_mutex_unlock(&fs->mu);
  fi->fh = (uintptr_t)b;
  if (fuse_reply_open(req, fi) != 0) {
    free(b->p);
    free(b);
  }
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)ino;
  stat_inc(FS(req), S_READDIR);
  struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;
  if ((size_t)off < b->size)
    fuse_reply_buf(req, b->p + off, b->size - (size_t)off < size ? b->size - (size_t)off : size);
  else
    fuse_reply_buf(req, NULL, 0);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;
  free(b->p);
  free(b);
  fuse_reply_err(req, 0);
}

/* SQLite fsyncs the directory after creating a journal (synchronous=FULL) so that the
 * journal's name survives a power cut: fsync the real directories of the databases
 * here whose files were created or removed since. */
static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  (void)datasync;
  (void)fi;
  struct fs *fs = FS(req);
  stat_inc(fs, S_FSYNC);
  char *dirs[64];
  int n = 0;
  pthread_mutex_lock(&fs->mu);
  struct node *dn = node_get(fs, ino);
  for (int i = 0; dn && dn->kind == K_DIR && i < fs->ndbs && n < 64; i++) {
    struct db *db = fs->dbs[i];
    if (!db || db->removed || db->dir != dn->dir || !db->dirents_dirty) continue;
    db->dirents_dirty = 0;
    dirs[n++] = strdup(db->path[0]);
  }
  pthread_mutex_unlock(&fs->mu);
  int err = 0;
  for (int i = 0; i < n; i++) {
    char *slash = strrchr(dirs[i], '/');
    if (slash) *slash = 0;
    int fd = open(slash ? dirs[i] : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) err = errno;
    if (fd >= 0) close(fd);
    free(dirs[i]);
  }
  fuse_reply_err(req, err);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  struct fs *fs = FS(req);
  struct statvfs sv;
  if (statvfs(fs->statfs_path, &sv) != 0)
    fuse_reply_err(req, errno);
  else
    fuse_reply_statfs(req, &sv);
}

static void lock_range(const struct flock *lock, uint64_t *start, uint64_t *end) {
  *start = (uint64_t)lock->l_start;
  *end = lock->l_len == 0 ? UINT64_MAX : (uint64_t)(lock->l_start + lock->l_len - 1);
}

static void ll_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_GETLK);
  struct node *n = node_get(fs, ino);
  struct lockset *ls = n ? lockset_of(n) : NULL;
  if (!ls) {
    fuse_reply_err(req, n ? ENOLCK : ENOENT);
    return;
  }
  uint64_t start, end;
  lock_range(lock, &start, &end);
  pthread_mutex_lock(&fs->mu);
  struct flock out = *lock;
  out.l_type = F_UNLCK;
  if (n->kind == K_LOCK) {
    struct db *db = n->db;
    if (db->halt_state == 2 && db->halt_owner != fi->lock_owner && start <= HALT_BYTE && HALT_BYTE <= end) {
      out.l_type = F_WRLCK;
      out.l_start = HALT_BYTE;
      out.l_len = 1;
      out.l_pid = 0;
    }
  } else {
    struct lk *c = lk_conflict(ls, fi->lock_owner, start, end, lock->l_type);
    if (c) {
      out.l_type = (short)c->type;
      out.l_start = (off_t)c->start;
      out.l_len = c->end == UINT64_MAX ? 0 : (off_t)(c->end - c->start + 1);
      out.l_pid = c->pid;
    }
  }
  pthread_mutex_unlock(&fs->mu);
  fuse_reply_lock(req, &out);
}

/* byte 72 of <db>-lock: the halt lock that lets a replica write (write forwarding) */
static void setlk_halt(struct fs *fs, fuse_req_t req, struct db *db, struct fuse_file_info *fi, struct flock *lock,
                       uint64_t start, uint64_t end, int sleep) {
  uint64_t owner = fi->lock_owner;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  pthread_mutex_lock(&fs->mu);
  if (lock->l_type == F_UNLCK) {
    if (db->halt_state == 2 && (db->halt_owner == owner) && start <= HALT_BYTE && HALT_BYTE <= end) {
      unhalt(fs, db);
      halt_wake(fs, db);
    }
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, 0);
    return;
  }
  int err = 0;
  if (start != HALT_BYTE || end != HALT_BYTE)
    err = EINVAL;
  else if (lock->l_type != F_WRLCK)
    err = ENOSYS;
  else if (db->halt_state != 0 && db->halt_owner == owner)
    err = ENOLCK;
  else if (db->halt_state != 0 && !sleep)
    err = EAGAIN;
  if (err) {
    pthread_mutex_unlock(&fs->mu);
    fuse_reply_err(req, err);
    return;
  }
  if (db->halt_state != 0) {
    struct waiter *w = calloc(1, sizeof *w);
    w->req = req;
    w->owner = owner;
    w->fh = h;
    w->pid = lock->l_pid;
    struct waiter **pp = &db->halt_waiters;
    while (*pp) pp = &(*pp)->next;
    *pp = w;
    pthread_mutex_unlock(&fs->mu);
    return;
  }
  start_halt(fs, db, req, owner, h, lock->l_pid);
  pthread_mutex_unlock(&fs->mu);
}

static void ll_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock, int sleep) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_SETLK);
  struct node *n = node_get(fs, ino);
  struct lockset *ls = n ? lockset_of(n) : NULL;
  if (!ls) {
    fuse_reply_err(req, n ? ENOLCK : ENOENT);
    return;
  }
  uint64_t start, end;
  lock_range(lock, &start, &end);
  if (n->kind == K_LOCK) {
    setlk_halt(fs, req, n->db, fi, lock, start, end, sleep);
    return;
  }
  struct db *db = n->db;
  struct handle *h = (struct handle *)(uintptr_t)fi->fh;
  uint64_t owner = fi->lock_owner;
  int type = lock->l_type;
  pthread_mutex_lock(&fs->mu);
  if (type != F_UNLCK) {
    struct lk *c = lk_conflict(ls, owner, start, end, type);
    /* no checkpoint while a writer holds the WAL: it could copy frames into the
     * database before their transaction is captured */
    int ckpt_blocked = n->kind == K_SHM && type == F_WRLCK && start <= SHM_CKPT && SHM_CKPT <= end &&
                       lk_conflict(ls, owner, SHM_WRITE, SHM_WRITE, F_WRLCK) != NULL;
    if (c || ckpt_blocked) {
      if (!sleep || ckpt_blocked) {
        pthread_mutex_unlock(&fs->mu);
        fuse_reply_err(req, EAGAIN);
        return;
      }
      struct waiter *w = calloc(1, sizeof *w);
      w->req = req;
      w->token = fs_token(fs);
      w->owner = owner;
      w->start = start;
      w->end = end;
      w->type = type;
      w->pid = lock->l_pid;
      w->fh = h;
      struct waiter **pp = &ls->waiters;
      while (*pp) pp = &(*pp)->next;
      *pp = w;
      fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)w->token);
      pthread_mutex_unlock(&fs->mu);
      return;
    }
  }
  int had_wal = n->kind == K_SHM && lk_owner_holds(ls, owner, SHM_WRITE, F_WRLCK);
  int had_dbw = n->kind == K_DB && lk_owner_has_write(ls, owner, PENDING_BYTE, SHARED_FIRST + SHARED_SIZE);
  if (had_wal && start <= SHM_WRITE && SHM_WRITE <= end && type != F_WRLCK) {
    /* the WAL write lock goes: its transaction must be captured first */
    int err = 0;
    struct pending *p = commit_on_release(fs, req, n, h, owner, 1, 0, P_WAL_UNLOCK, &err);
    if (p) {
      p->start = start;
      p->end = end;
      p->type = type;
      p->pid = lock->l_pid;
      p->h = h;
      pthread_mutex_unlock(&fs->mu);
      return;
    }
    if (err) {
      db->failed = 1;
      fs_log(fs, 3, "%s: capturing a WAL transaction failed (error %d); refusing access until the backend recovers it",
             db->name, err);
    }
  }
  lk_set(ls, owner, start, end, type, lock->l_pid, h);
  if (had_dbw && !lk_owner_has_write(ls, owner, PENDING_BYTE, SHARED_FIRST + SHARED_SIZE)) {
    int err = 0;
    struct pending *p = commit_on_release(fs, req, n, h, owner, 0, 1, P_UNLOCK_DB, &err);
    lk_wake(fs, ls);
    pthread_mutex_unlock(&fs->mu);
    if (!p) fuse_reply_err(req, 0);
    return;
  }
  lk_wake(fs, ls);
  pthread_mutex_unlock(&fs->mu);
  fuse_reply_err(req, 0);
}

/* Called without fs->mu once JavaScript answered (err: 0 or an errno). */
void finish_pending(struct fs *fs, struct pending *p, int err) {
  struct db *db = p->db;
  if (p->kind != P_CREATE) pthread_mutex_lock(&fs->mu);
  switch (p->kind) {
    case P_WAL_UNLOCK: {
      struct lockset *ls = &db->locks[FILE_INDEX(K_SHM)];
      if (err) {
        db->failed = 1;
        fs_log(fs, 3, "%s: the backend refused a WAL commit that SQLite already made (error %d); refusing access until it "
                      "recovers the database", db->name, err);
      }
      lk_set(ls, p->owner, p->start, p->end, p->type, p->pid, p->h);
      lk_wake(fs, ls);
      fuse_reply_err(p->req, 0);
      break;
    }
    case P_FLUSH:
    case P_RELEASE: {
      struct node *n = p->h ? p->h->node : NULL;
      if (err) {
        db->failed = 1;
        fs_log(fs, 3, "%s: the backend refused a commit at close (error %d); refusing access until it recovers the database",
               db->name, err);
      }
      if (p->kind == P_FLUSH) {
        struct lockset *ls = n ? &db->locks[FILE_INDEX(n->kind)] : NULL;
        if (ls && lk_drop_owner(ls, p->owner)) lk_wake(fs, ls);
        fuse_reply_err(p->req, err ? EIO : 0);
      } else {
        if (p->h->fd >= 0) close(p->h->fd);
        free(p->h->vdata);
        free(p->h);
        fuse_reply_err(p->req, 0);
      }
      break;
    }
    case P_WAL_COMMIT:
      if (!err) {
        db->wal_unsynced = 1;
        fuse_reply_write(p->req, p->len);
        break;
      }
      /* refused: SQLite rolls the transaction back; make sure no WAL recovery ever
       * finds its commit frame valid, and capture it again if it is written again */
      db->wal_known = p->wal_known;
      db->wal_off = p->wal_off;
      memcpy(db->wal_ck, p->wal_ck, sizeof db->wal_ck);
      memcpy(db->wal_salt, p->wal_salt, sizeof db->wal_salt);
      db->wal_page_size = p->wal_page_size;
      {
        static const char zero[24];
        if (pwrite(p->h->fd, zero, sizeof zero, p->off) != (ssize_t)sizeof zero)
          fs_log(fs, 3, "%s: cannot void a refused commit frame at WAL offset %lld", db->name, (long long)p->off);
      }
      fuse_reply_err(p->req, err == ENOSPC ? ENOSPC : EIO);
      break;
    case P_SYNC:
      if (err) {
        db->failed = 1;
        fs_log(fs, 3, "%s: the backend could not make its log durable (error %d); refusing access", db->name, err);
      }
      fuse_reply_err(p->req, err ? EIO : 0);
      break;
    case P_UNLOCK_DB:
      if (err) {
        db->failed = 1;
        fs_log(fs, 3, "%s: the backend refused a commit (error %d); refusing access until it recovers the database",
               db->name, err);
      }
      fuse_reply_err(p->req, 0);
      break;
    case P_UNLINK_JOURNAL:
      /* on failure the journal stays: SQLite rolls the transaction back from it */
      if (!err && unlink(db->path[FILE_INDEX(K_JOURNAL)]) != 0) err = errno;
      if (!err) db->dirents_dirty = 1;
      fuse_reply_err(p->req, err ? EIO : 0);
      break;
    case P_TRUNCATE_JOURNAL: {
      struct node *n = &db->nodes[FILE_INDEX(K_JOURNAL)];
      if (!err) err = do_truncate(n, p->h, 0);
      if (err)
        fuse_reply_err(p->req, EIO);
      else
        reply_attr_of(fs, p->req, n, p->h);
      break;
    }
    case P_ZERO_JOURNAL: {
      ssize_t w = -1;
      if (!err) w = pwrite(p->h->fd, p->buf, p->len, p->off);
      if (w < 0)
        fuse_reply_err(p->req, EIO);
      else
        fuse_reply_write(p->req, (size_t)w);
      break;
    }
    case P_CREATE: {
      if (err) {
        fuse_reply_err(p->req, err);
        break;
      }
      struct db *created = db_by_name(fs, p->name);
      if (!created) {
        fuse_reply_err(p->req, EIO);
        break;
      }
      struct handle *h = NULL;
      struct fuse_file_info fi = p->fi;
      /* the backend created the file for this very request: no O_EXCL, no O_CREAT */
      int e = open_node(fs, &created->nodes[0], fi.flags & ~O_EXCL, 0, 0, &fi, &h);
      if (e) {
        fuse_reply_err(p->req, e);
        break;
      }
      reply_created(fs, p->req, &created->nodes[0], h, &fi);
      break;
    }
    case P_UNLINK_DB:
      fuse_reply_err(p->req, err);
      break;
    case P_HALT:
      if (err) {
        db->halt_state = 0;
        fuse_reply_err(p->req, err);
        halt_wake(fs, db);
      } else {
        db->halt_state = 2;
        db->halt_owner = p->owner;
        /* OFD locks (litefs-go, litefs-node) outlive a close of one descriptor: keep the
         * open file so release can end the halt */
        db->halt_fh = p->h;
        fuse_reply_err(p->req, 0);
      }
      break;
    default:
      break;
  }
  if (p->kind != P_CREATE) pthread_mutex_unlock(&fs->mu);
  free(p->buf);
  free(p->name);
  free(p);
}

const struct fuse_lowlevel_ops sqlrep_ops = {
    .init = ll_init,
    .lookup = ll_lookup,
    .forget = ll_forget,
    .getattr = ll_getattr,
    .setattr = ll_setattr,
    .mkdir = ll_mkdir,
    .unlink = ll_unlink,
    .rmdir = ll_rmdir,
    .rename = ll_rename,
    .open = ll_open,
    .read = ll_read,
    .write = ll_write,
    .flush = ll_flush,
    .release = ll_release,
    .fsync = ll_fsync,
    .opendir = ll_opendir,
    .readdir = ll_readdir,
    .releasedir = ll_releasedir,
    .fsyncdir = ll_fsyncdir,
    .statfs = ll_statfs,
    .create = ll_create,
    .getlk = ll_getlk,
    .setlk = ll_setlk,
};
