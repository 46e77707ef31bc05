/* Internal to the FUSE operations (ops.c, ops_*.c): the handlers the operations table
 * names, and the helpers they share across files. Nothing outside ops*.c includes it. */
#ifndef SQLREP_OPS_H
#define SQLREP_OPS_H

#include "fs.h"

#define FS(req) ((struct fs *)fuse_req_userdata(req))

static inline int is_virtual(int kind) {
  return kind == K_POS || kind == K_LOCK || kind == K_PRIMARY || kind == K_LAG;
}

static inline struct lockset *lockset_of(struct node *n) {
  return n->db ? &n->db->locks[FILE_INDEX(n->kind)] : NULL;
}

/* ops_nodes.c */
void fill_entry(struct fs *fs, struct node *n, const struct stat *st, struct fuse_entry_param *e);
int do_truncate(struct node *n, struct handle *h, off_t size);
void reply_attr_of(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h);
int open_node(struct fs *fs, struct node *n, int flags, pid_t pid, int create, struct fuse_file_info *fi,
              struct handle **out);
void reply_created(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h, struct fuse_file_info *fi);

/* ops_commit.c */
void post_commit(struct fs *fs, struct pending *p, struct txinfo *tx, int ntx);
int classify_db_write(struct db *db);
int completes_commit_frame(struct db *db, int fd, const char *buf, size_t size, off_t off, uint64_t *frame_start);
struct pending *commit_on_release(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h, uint64_t owner,
                                  int had_wal_write, int had_db_write, int kind, int *err);

/* ops_files.c */
void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi);
void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi);
void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/* ops_dirs.c */
void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void ll_forget(fuse_req_t req, fuse_ino_t ino, unsigned long nlookup);
void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi);
void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname);
void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void ll_statfs(fuse_req_t req, fuse_ino_t ino);

/* ops_locks.c */
void ll_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock);
void ll_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock, int sleep);
void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void halt_wake(struct fs *fs, struct db *db);

#endif
