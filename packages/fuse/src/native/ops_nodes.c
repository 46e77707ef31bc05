/* Opening nodes for the FUSE operations: handles on real files and snapshots of the
 * virtual ones, truncation, and the entry and attribute replies that follow. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double attr_timeout(struct fs *fs, struct node *n) {
  return is_virtual(n->kind) ? 0 : fs->attr_timeout;
}

void fill_entry(struct fs *fs, struct node *n, const struct stat *st, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->ino = n->ino;
  e->generation = 1;
  e->attr = *st;
  e->attr_timeout = attr_timeout(fs, n);
  e->entry_timeout = is_virtual(n->kind) ? 0 : fs->entry_timeout;
}

static struct handle *handle_new(struct node *n, int fd, int flags, pid_t pid) {
  struct handle *h = calloc(1, sizeof *h);
  h->node = n;
  h->fd = fd;
  h->flags = flags;
  h->pid = pid;
  return h;
}

int do_truncate(struct node *n, struct handle *h, off_t size) {
  int rc = h && h->fd >= 0 ? ftruncate(h->fd, size) : truncate(n->db->path[FILE_INDEX(n->kind)], size);
  return rc == 0 ? 0 : errno;
}

void reply_attr_of(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h) {
  struct stat st;
  int err = node_stat(fs, n, h, &st);
  if (err)
    fuse_reply_err(req, err);
  else
    fuse_reply_attr(req, &st, attr_timeout(fs, n));
}

static int open_real(struct node *n, int flags, int create) {
  int f = (flags & O_ACCMODE) | O_CLOEXEC;
  if (create) f |= O_CREAT | (flags & O_EXCL);
  int fd = open(n->db->path[FILE_INDEX(n->kind)], f, 0644);
  return fd < 0 ? -errno : fd;
}

/* Opens a node for fuse_reply_open/create: a real file, or a snapshot of a virtual
 * file's content (served with direct_io, so every open reads it fresh). */
int open_node(struct fs *fs, struct node *n, int flags, pid_t pid, int create, struct fuse_file_info *fi,
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

void reply_created(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h, struct fuse_file_info *fi) {
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
