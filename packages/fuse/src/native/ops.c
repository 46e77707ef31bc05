/* The FUSE low-level operations table, and the glue between the FUSE threads and
 * JavaScript: plain reads, writes, fsyncs, attributes and locks are served in the FUSE
 * threads (ops_*.c); JavaScript hears only of what matters (commits, database creation
 * and removal, the halt lock), and its answers finish the waiting request here. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ll_init(void *userdata, struct fuse_conn_info *conn) {
  struct fs *fs = userdata;
  conn->want |= FUSE_CAP_POSIX_LOCKS | FUSE_CAP_BIG_WRITES | FUSE_CAP_ASYNC_READ;
  conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
  conn->max_write = 131072;
  if (fs->debug)
    fprintf(stderr, "[sqlrep-fuse] FUSE %u.%u capable %#x want %#x max_write %u\n", conn->proto_major, conn->proto_minor,
            conn->capable, conn->want, conn->max_write);
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
