/* FUSE operations on files: attributes, truncation, open, read, write and fsync. Writes
 * are checked against SQLite's protocol (ops_commit.c) before they reach the real file. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_GETATTR);
  struct node *n = node_get(fs, ino);
  if (!n) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  reply_attr_of(fs, req, n, fi ? (struct handle *)(uintptr_t)fi->fh : NULL);
}

void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
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

void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
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

void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
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

void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
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

void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
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
