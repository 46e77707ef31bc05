/* When a write, a truncation, an unlock or a close is a commit: classifying writes to
 * the database file, spotting a WAL commit frame, capturing the transaction a released
 * lock ends, and posting the captured transactions to JavaScript. */
#include "ops.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Starts a commit: posts the captured transactions to JavaScript, which answers
 * with the pending request's token once the backend has them. */
void post_commit(struct fs *fs, struct pending *p, struct txinfo *tx, int ntx) {
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_COMMIT;
  ev->token = p->token;
  ev->db = p->db->id;
  ev->tx = tx;
  ev->ntx = ntx;
  fs->stats[S_COMMIT] += (uint64_t)ntx;
  fs_post(fs, ev);
}

/* How a write to the database file fits SQLite's protocol, from the locks held:
 * 0 a checkpoint (the WAL has it already), 1 a rollback-journal transaction, 2 a raw
 * write by something that is not SQLite (cp), -1 refused (a raw write while SQLite
 * connections hold locks). Called with fs->mu held. */
int classify_db_write(struct db *db) {
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

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Whether this WAL write completed a commit frame (a frame whose header carries the
 * database size): SQLite writes a frame's header, then its page, and the commit
 * frame last. Sets *frame_start. */
int completes_commit_frame(struct db *db, int fd, const char *buf, size_t size, off_t off, uint64_t *frame_start) {
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

/* Runs the commit a released lock or a closed file calls for, if any: the WAL write
 * lock of `owner`, a rollback transaction without a journal file, a raw copy. Returns
 * the pending request when JavaScript must answer first. Called with fs->mu held. */
struct pending *commit_on_release(struct fs *fs, fuse_req_t req, struct node *n, struct handle *h, uint64_t owner,
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
