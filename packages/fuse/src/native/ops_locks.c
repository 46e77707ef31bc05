/* FUSE lock operations: SQLite's fcntl locks (getlk, setlk, waiting and interrupted
 * waiters), the halt lock on <db>-lock, and what flush and release drop at close. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* The node a lock request is on, its lock set and the byte range asked for; NULL after
 * replying ENOENT (no such node) or ENOLCK (a node without locks: a directory). */
static struct lockset *lock_target(struct fs *fs, fuse_req_t req, fuse_ino_t ino, const struct flock *lock, struct node **n,
                                   uint64_t *start, uint64_t *end) {
  *n = node_get(fs, ino);
  struct lockset *ls = *n ? lockset_of(*n) : NULL;
  if (!ls) {
    fuse_reply_err(req, *n ? ENOLCK : ENOENT);
    return NULL;
  }
  *start = (uint64_t)lock->l_start;
  *end = lock->l_len == 0 ? UINT64_MAX : (uint64_t)(lock->l_start + lock->l_len - 1);
  return ls;
}

/* Waiters are served in arrival order. */
static void waiter_append(struct waiter **list, struct waiter *w) {
  while (*list) list = &(*list)->next;
  *list = w;
}

void ll_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_GETLK);
  struct node *n;
  uint64_t start, end;
  struct lockset *ls = lock_target(fs, req, ino, lock, &n, &start, &end);
  if (!ls) return;
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

static void unhalt(struct fs *fs, struct db *db) {
  db->halt_state = 0;
  db->halt_owner = 0;
  db->halt_fh = NULL;
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_UNHALT;
  ev->db = db->id;
  fs_post(fs, ev);
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

void halt_wake(struct fs *fs, struct db *db) {
  if (db->halt_state != 0 || !db->halt_waiters) return;
  struct waiter *w = db->halt_waiters;
  db->halt_waiters = w->next;
  start_halt(fs, db, w->req, w->owner, w->fh, w->pid);
  free(w);
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
    waiter_append(&db->halt_waiters, w);
    pthread_mutex_unlock(&fs->mu);
    return;
  }
  start_halt(fs, db, req, owner, h, lock->l_pid);
  pthread_mutex_unlock(&fs->mu);
}

void ll_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock, int sleep) {
  struct fs *fs = FS(req);
  stat_inc(fs, S_SETLK);
  struct node *n;
  uint64_t start, end;
  struct lockset *ls = lock_target(fs, req, ino, lock, &n, &start, &end);
  if (!ls) return;
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
      waiter_append(&ls->waiters, w);
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

void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
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

void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
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
