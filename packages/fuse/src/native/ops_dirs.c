/* FUSE operations on directories and names: lookup, create, mkdir, rmdir, unlink,
 * rename, listing, fsyncdir and statfs. Creating or deleting a database asks JavaScript. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void reply_negative(struct fs *fs, fuse_req_t req, const char *name) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  /* `.primary` comes and goes with the connection; everything else changes through
   * the mount or with an explicit invalidation */
  e.entry_timeout = strcmp(name, ".primary") == 0 ? 0 : fs->entry_timeout;
  fuse_reply_entry(req, &e);
}

void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
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

void ll_forget(fuse_req_t req, fuse_ino_t ino, unsigned long nlookup) {
  (void)ino;
  (void)nlookup;
  fuse_reply_none(req);
}

static int reserved_name(struct dir *dir, struct fs *fs, const char *name) {
  if (dir == fs->dirs[0] && (strcmp(name, ".primary") == 0 || strcmp(name, ".lag") == 0)) return 1;
  /* SQLite's super-journal of a multi-database transaction: "<db>-mjXXXXXXXX" */
  const char *mj = strstr(name, "-mj");
  if (mj && strlen(mj) == 11) return 1;
  return 0;
}

void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
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

void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
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

void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
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

void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
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

void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname) {
  (void)parent;
  (void)name;
  (void)newparent;
  (void)newname;
  stat_inc(FS(req), S_OTHER);
  /* mv then copies and deletes, which the mount turns into a create, a commit and a drop */
  fuse_reply_err(req, EXDEV);
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

void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
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

void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)ino;
  stat_inc(FS(req), S_READDIR);
  struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;
  if ((size_t)off < b->size)
    fuse_reply_buf(req, b->p + off, b->size - (size_t)off < size ? b->size - (size_t)off : size);
  else
    fuse_reply_buf(req, NULL, 0);
}

void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;
  free(b->p);
  free(b);
  fuse_reply_err(req, 0);
}

/* SQLite fsyncs the directory after creating a journal (synchronous=FULL) so that the
 * journal's name survives a power cut: fsync the real directories of the databases
 * here whose files were created or removed since. */
void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
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

void ll_statfs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  struct fs *fs = FS(req);
  struct statvfs sv;
  if (statvfs(fs->statfs_path, &sv) != 0)
    fuse_reply_err(req, errno);
  else
    fuse_reply_statfs(req, &sv);
}
