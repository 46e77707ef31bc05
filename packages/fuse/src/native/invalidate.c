/* Kernel cache invalidation: at once on the FUSE threads, or queued to a thread of its
 * own when asked on the JS thread (the kernel may wait for a request that waits on JS). */
#include "fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *inval_main(void *arg) {
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
