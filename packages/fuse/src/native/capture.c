/* Turning what SQLite wrote into one transaction's page set: the dirty pages of a
 * rollback-journal transaction, a whole copied-in file, or the frames of a WAL
 * transaction (verified with SQLite's own checksums), sorted, lock page skipped. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int valid_page_size(uint32_t ps) {
  return ps >= 512 && ps <= 65536 && (ps & (ps - 1)) == 0;
}

static uint32_t header_page_size(const uint8_t *hdr) {
  uint32_t ps = (uint32_t)hdr[16] << 8 | hdr[17];
  return ps == 1 ? 65536 : ps;
}

static uint32_t lock_pgno(uint32_t ps) {
  return (uint32_t)(PENDING_BYTE / ps) + 1;
}

/* The page size for tracking a write: from the write itself when it carries the
 * header, else from the file's header. 0 when unknown (an empty file). */
uint32_t db_page_size(struct db *db, const void *buf, size_t len, off_t off) {
  if (off == 0 && len >= 18) {
    uint32_t ps = header_page_size(buf);
    if (valid_page_size(ps)) db->page_size = ps;
  }
  if (!db->page_size) {
    uint8_t hdr[18];
    if (pread(db->fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr) {
      uint32_t ps = header_page_size(hdr);
      if (valid_page_size(ps)) db->page_size = ps;
    }
  }
  return db->page_size;
}

void dirty_mark(struct db *db, uint32_t ps, off_t off, size_t len) {
  if (!ps || !len) return;
  uint64_t first = (uint64_t)off / ps, last = ((uint64_t)off + len - 1) / ps;
  if (last >= (uint64_t)db->dirty_pages) {
    uint64_t cap = db->dirty_pages ? db->dirty_pages : 1024;
    while (cap <= last) cap *= 2;
    if (cap > 0xffffffffULL) cap = 0xffffffffULL;
    db->dirty = realloc(db->dirty, (size_t)(cap / 8 + 1));
    memset(db->dirty + db->dirty_pages / 8, 0, (size_t)(cap / 8 + 1 - db->dirty_pages / 8));
    db->dirty_pages = (uint32_t)cap;
  }
  for (uint64_t i = first; i <= last; i++) {
    uint8_t bit = (uint8_t)(1u << (i & 7));
    if (!(db->dirty[i / 8] & bit)) {
      db->dirty[i / 8] |= bit;
      db->ndirty++;
    }
  }
}

static void dirty_clear(struct db *db) {
  if (db->dirty) memset(db->dirty, 0, db->dirty_pages / 8 + 1);
  db->ndirty = 0;
}

static void tx_init(struct txinfo *ev, uint32_t ps, uint32_t commit, uint32_t npages, int mode, pid_t pid) {
  memset(ev, 0, sizeof *ev);
  ev->page_size = ps;
  ev->commit = commit;
  ev->npages = npages;
  ev->mode = mode;
  ev->pid = pid;
  ev->buflen = (size_t)npages * 4 + (size_t)npages * ps;
  ev->buf = malloc(ev->buflen ? ev->buflen : 1);
}

void txinfo_free(struct txinfo *tx, int count) {
  for (int i = 0; i < count; i++) free(tx[i].buf);
  free(tx);
}

/* Reads the listed pages of the database file into the event, one pread per run of
 * consecutive page numbers. Pages past the end of the file read as zeros. */
static int read_pages(struct db *db, struct txinfo *ev) {
  uint32_t *pgnos = (uint32_t *)ev->buf;
  uint8_t *data = ev->buf + (size_t)ev->npages * 4;
  uint32_t ps = ev->page_size;
  for (uint32_t i = 0; i < ev->npages;) {
    uint32_t j = i + 1;
    while (j < ev->npages && pgnos[j] == pgnos[j - 1] + 1 && (j - i) < 256) j++;
    size_t want = (size_t)(j - i) * ps;
    off_t off = (off_t)(pgnos[i] - 1) * ps;
    size_t got = 0;
    while (got < want) {
      ssize_t n = pread(db->fd, data + (size_t)i * ps + got, want - got, off + (off_t)got);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) {
        memset(data + (size_t)i * ps + got, 0, want - got);
        break;
      }
      got += (size_t)n;
    }
    i = j;
  }
  return 0;
}

/* The transaction a rollback-journal commit (M_ROLLBACK) or a raw copy (M_RAW)
 * leaves in the database file. out->buf stays NULL when there is nothing to commit. */
int capture_rollback(struct db *db, int mode, pid_t pid, struct txinfo *out) {
  memset(out, 0, sizeof *out);
  if (mode == M_ROLLBACK && db->ndirty == 0) return 0;
  struct stat st;
  if (fstat(db->fd, &st) != 0) return errno;
  uint8_t hdr[100];
  if (st.st_size == 0) {
    dirty_clear(db);
    return 0;
  }
  if (pread(db->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) return mode == M_RAW ? EINVAL : EIO;
  if (memcmp(hdr, "SQLite format 3", 16) != 0) return EINVAL;
  uint32_t ps = header_page_size(hdr);
  if (!valid_page_size(ps)) return EINVAL;
  if (mode == M_RAW && st.st_size % ps != 0) return EINVAL;
  db->page_size = ps;
  uint32_t commit = (uint32_t)(st.st_size / ps);
  uint32_t in_header = be32(hdr + 28);
  if (in_header != 0 && be32(hdr + 92) == be32(hdr + 24)) commit = in_header;
  uint32_t lockpg = lock_pgno(ps);

  uint32_t npages = 0;
  if (mode == M_RAW) {
    npages = commit >= lockpg ? commit - 1 : commit;
  } else {
    for (uint32_t i = 0; i < db->dirty_pages && i < commit; i++)
      if ((db->dirty[i / 8] >> (i & 7)) & 1 && i + 1 != lockpg) npages++;
  }
  struct txinfo *ev = out;
  tx_init(ev, ps, commit, npages, mode, pid);
  uint32_t *pgnos = (uint32_t *)ev->buf, k = 0;
  if (mode == M_RAW) {
    for (uint32_t p = 1; p <= commit; p++)
      if (p != lockpg) pgnos[k++] = p;
  } else {
    for (uint32_t i = 0; i < db->dirty_pages && i < commit; i++)
      if ((db->dirty[i / 8] >> (i & 7)) & 1 && i + 1 != lockpg) pgnos[k++] = i + 1;
  }
  int err = read_pages(db, ev);
  if (err) {
    free(ev->buf);
    ev->buf = NULL;
    return err;
  }
  ev->durable = db->synced;
  db->synced = 0;
  dirty_clear(db);
  return 0;
}

/* SQLite's WAL checksum over n bytes (a multiple of 8), continuing from s. */
static void wal_cksum(int be, const uint8_t *p, size_t n, uint32_t s[2]) {
  uint32_t s1 = s[0], s2 = s[1];
  for (size_t i = 0; i < n; i += 8) {
    uint32_t x0 = be ? be32(p + i) : le32(p + i);
    uint32_t x1 = be ? be32(p + i + 4) : le32(p + i + 4);
    s1 += x0 + s2;
    s2 += x1 + s1;
  }
  s[0] = s1;
  s[1] = s2;
}

void wal_forget(struct db *db) {
  db->wal_known = 0;
  db->wal_off = 0;
}

struct frame_ref {
  uint32_t pgno;
  uint32_t index;
};

static int frame_cmp(const void *a, const void *b) {
  const struct frame_ref *x = a, *y = b;
  if (x->pgno != y->pgno) return x->pgno < y->pgno ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* One WAL transaction (frames [first, last] of buf) as a commit event: the last
 * version of each page, pages past the new size and the lock page left out. */
static void wal_tx(struct txinfo *ev, const uint8_t *buf, uint32_t first, uint32_t last, uint32_t ps, uint32_t commit,
                   pid_t pid) {
  size_t fsz = 24 + (size_t)ps;
  uint32_t n = last - first + 1;
  struct frame_ref *refs = malloc(n * sizeof *refs);
  for (uint32_t i = 0; i < n; i++) {
    refs[i].pgno = be32(buf + (size_t)(first + i) * fsz);
    refs[i].index = first + i;
  }
  qsort(refs, n, sizeof *refs, frame_cmp);
  uint32_t lockpg = lock_pgno(ps), npages = 0;
  for (uint32_t i = 0; i < n; i++) {
    int last_of_page = i + 1 == n || refs[i + 1].pgno != refs[i].pgno;
    if (last_of_page && refs[i].pgno <= commit && refs[i].pgno != lockpg) refs[npages++] = refs[i];
  }
  tx_init(ev, ps, commit, npages, M_WAL, pid);
  uint32_t *pgnos = (uint32_t *)ev->buf;
  uint8_t *data = ev->buf + (size_t)npages * 4;
  for (uint32_t i = 0; i < npages; i++) {
    pgnos[i] = refs[i].pgno;
    memcpy(data + (size_t)i * ps, buf + (size_t)refs[i].index * fsz + 24, ps);
  }
  free(refs);
}

/* Reads the WAL from the last captured position and returns one event per committed
 * transaction found (none with emit == 0: only the position moves). Frames after the
 * last commit frame stay for later. */
int capture_wal(struct db *db, pid_t pid, int emit, struct txinfo **out, int *count) {
  *out = NULL;
  *count = 0;
  int fd = open(db->path[FILE_INDEX(K_WAL)], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    wal_forget(db);
    return errno == ENOENT ? 0 : errno;
  }
  struct stat st;
  uint8_t hdr[32];
  if (fstat(fd, &st) != 0 || st.st_size < 32 || pread(fd, hdr, 32, 0) != 32) {
    close(fd);
    wal_forget(db);
    return 0;
  }
  uint32_t magic = be32(hdr);
  uint32_t ps = be32(hdr + 8);
  uint32_t salt1 = be32(hdr + 16), salt2 = be32(hdr + 20);
  int be = magic & 1;
  uint32_t ck[2] = {0, 0};
  wal_cksum(be, hdr, 24, ck);
  if ((magic & ~1u) != 0x377f0682u || !valid_page_size(ps) || ck[0] != be32(hdr + 24) || ck[1] != be32(hdr + 28)) {
    close(fd);
    wal_forget(db);
    return 0;
  }
  if (!db->wal_known || db->wal_salt[0] != salt1 || db->wal_salt[1] != salt2 || db->wal_page_size != ps) {
    /* a new WAL generation: SQLite restarted it from the top */
    db->wal_known = 1;
    db->wal_off = 32;
    db->wal_salt[0] = salt1;
    db->wal_salt[1] = salt2;
    db->wal_ck[0] = ck[0];
    db->wal_ck[1] = ck[1];
    db->wal_be = be;
    db->wal_page_size = ps;
  }
  size_t fsz = 24 + (size_t)ps;
  if ((uint64_t)st.st_size < db->wal_off + fsz) {
    close(fd);
    return 0;
  }
  size_t want = (size_t)(((uint64_t)st.st_size - db->wal_off) / fsz) * fsz;
  uint8_t *buf = malloc(want);
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(fd, buf + got, want - got, (off_t)(db->wal_off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  uint32_t nframes = (uint32_t)(got / fsz);
  uint32_t run[2] = {db->wal_ck[0], db->wal_ck[1]};
  uint32_t tx_first = 0;
  int cap = 0;
  struct txinfo *events = NULL;
  for (uint32_t i = 0; i < nframes; i++) {
    const uint8_t *f = buf + (size_t)i * fsz;
    if (be32(f + 8) != salt1 || be32(f + 12) != salt2) break;
    wal_cksum(be, f, 8, run);
    wal_cksum(be, f + 24, ps, run);
    if (run[0] != be32(f + 16) || run[1] != be32(f + 20)) break;
    uint32_t commit = be32(f + 4);
    if (commit == 0) continue;
    if (emit) {
      if (*count == cap) {
        cap = cap ? cap * 2 : 2;
        events = realloc(events, (size_t)cap * sizeof *events);
      }
      struct txinfo *ev = &events[(*count)++];
      wal_tx(ev, buf, tx_first, i, ps, commit, pid);
      ev->wal_off = db->wal_off + (uint64_t)tx_first * fsz;
      ev->wal_size = (uint64_t)(i - tx_first + 1) * fsz;
      ev->salt1 = salt1;
      ev->salt2 = salt2;
      ev->durable = 0; /* SQLite syncs the WAL after its commit frame, if at all: see P_SYNC */
    }
    tx_first = i + 1;
    db->wal_ck[0] = run[0];
    db->wal_ck[1] = run[1];
  }
  db->wal_off += (uint64_t)tx_first * fsz;
  free(buf);
  *out = events;
  return 0;
}

/* Positions the capture after the last committed transaction already in the WAL:
 * the backend reconciled it before it handed the database over. */
void wal_seek_end(struct db *db) {
  struct txinfo *events;
  int count;
  wal_forget(db);
  capture_wal(db, 0, 0, &events, &count);
}
