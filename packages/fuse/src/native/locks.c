/* POSIX byte-range locks kept by the daemon, per file and lock owner, with the
 * kernel's semantics (split on partial unlock, upgrade by the sole holder), and the
 * F_SETLKW waiters they wake. Callers hold fs->mu. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

static int overlaps(const struct lk *l, uint64_t start, uint64_t end) {
  return l->start <= end && start <= l->end;
}

/* The first lock of another owner that forbids taking [start, end] as `type`. */
struct lk *lk_conflict(struct lockset *ls, uint64_t owner, uint64_t start, uint64_t end, int type) {
  for (struct lk *l = ls->head; l; l = l->next) {
    if (l->owner == owner || !overlaps(l, start, end)) continue;
    if (type == F_WRLCK || l->type == F_WRLCK) return l;
  }
  return NULL;
}

static struct lk *lk_new(uint64_t owner, uint64_t start, uint64_t end, int type, pid_t pid, struct handle *fh) {
  struct lk *l = malloc(sizeof *l);
  l->owner = owner;
  l->start = start;
  l->end = end;
  l->type = type;
  l->pid = pid;
  l->fh = fh;
  l->next = NULL;
  return l;
}

/* Sets [start, end] of `owner` to `type` (F_UNLCK removes), keeping the owner's
 * locks outside the range as they were. The caller checked for conflicts. */
void lk_set(struct lockset *ls, uint64_t owner, uint64_t start, uint64_t end, int type, pid_t pid, struct handle *fh) {
  struct lk **pp = &ls->head;
  while (*pp) {
    struct lk *l = *pp;
    if (l->owner != owner || !overlaps(l, start, end)) {
      pp = &l->next;
      continue;
    }
    if (l->start < start && l->end > end) {
      /* the new range is inside: keep both sides */
      struct lk *right = lk_new(owner, end + 1, l->end, l->type, l->pid, l->fh);
      right->next = l->next;
      l->end = start - 1;
      l->next = right;
      pp = &right->next;
    } else if (l->start < start) {
      l->end = start - 1;
      pp = &l->next;
    } else if (l->end > end) {
      l->start = end + 1;
      pp = &l->next;
    } else {
      *pp = l->next;
      free(l);
    }
  }
  if (type == F_UNLCK) return;
  struct lk *l = lk_new(owner, start, end, type, pid, fh);
  l->next = ls->head;
  ls->head = l;
}

int lk_drop_owner(struct lockset *ls, uint64_t owner) {
  int dropped = 0;
  for (struct lk **pp = &ls->head; *pp;) {
    if ((*pp)->owner == owner) {
      struct lk *l = *pp;
      *pp = l->next;
      free(l);
      dropped = 1;
    } else {
      pp = &(*pp)->next;
    }
  }
  return dropped;
}

/* Open file description locks (F_OFD_SETLK) live as long as the open file: the
 * kernel sends no unlock for them on close, so release drops them here. */
int lk_drop_fh(struct lockset *ls, struct handle *fh) {
  int dropped = 0;
  for (struct lk **pp = &ls->head; *pp;) {
    if ((*pp)->fh == fh) {
      struct lk *l = *pp;
      *pp = l->next;
      free(l);
      dropped = 1;
    } else {
      pp = &(*pp)->next;
    }
  }
  return dropped;
}

/* Whether `owner` holds `byte` at least as `type` (a write lock satisfies a read). */
int lk_owner_holds(struct lockset *ls, uint64_t owner, uint64_t byte, int type) {
  for (struct lk *l = ls->head; l; l = l->next)
    if (l->owner == owner && l->start <= byte && byte <= l->end && (type == F_RDLCK || l->type == F_WRLCK)) return 1;
  return 0;
}

int lk_anyone_holds(struct lockset *ls, uint64_t byte, int type) {
  for (struct lk *l = ls->head; l; l = l->next)
    if (l->start <= byte && byte <= l->end && (type == F_RDLCK || l->type == F_WRLCK)) return 1;
  return 0;
}

int lk_any_lock(struct lockset *ls) {
  return ls->head != NULL;
}

int lk_owner_has_write(struct lockset *ls, uint64_t owner, uint64_t start, uint64_t end) {
  for (struct lk *l = ls->head; l; l = l->next)
    if (l->owner == owner && l->type == F_WRLCK && overlaps(l, start, end)) return 1;
  return 0;
}

/* Grants, in arrival order, every waiting F_SETLKW that no longer conflicts. */
void lk_wake(struct fs *fs, struct lockset *ls) {
  (void)fs;
  for (struct waiter **pp = &ls->waiters; *pp;) {
    struct waiter *w = *pp;
    if (lk_conflict(ls, w->owner, w->start, w->end, w->type)) {
      pp = &w->next;
      continue;
    }
    lk_set(ls, w->owner, w->start, w->end, w->type, w->pid, w->fh);
    *pp = w->next;
    fuse_reply_err(w->req, 0);
    free(w);
  }
}

void lk_free_all(struct lockset *ls) {
  while (ls->head) {
    struct lk *l = ls->head;
    ls->head = l->next;
    free(l);
  }
  while (ls->waiters) {
    struct waiter *w = ls->waiters;
    ls->waiters = w->next;
    fuse_reply_err(w->req, EINTR);
    free(w);
  }
}
