/* file.c: the main database file (forwarded to the page server) and the journals held
 * in memory. */
#include "ls.h"

/* ------------------------------------------------------------------ main database file */

static int ls_close(sqlite3_file *pf) {
  LsFile *f = (LsFile *)pf;
  if (f->fd >= 0) {
    Buf b;
    buf_init(&b, OP_CLOSE);
    ls_call(f, &b, NULL);
    close(f->fd);
  }
  f->fd = -1;
  return SQLITE_OK;
}

/* The version a read outside any lock sees (the header read at open): the newest. */
static void ls_current(LsFile *f, LsState *s) {
  if (f->hasView) *s = f->view;
  else if (ls_shm_state(s) != 0) *s = f->snap;
}

static int ls_read(sqlite3_file *pf, void *out, int amt, sqlite3_int64 off) {
  LsFile *f = (LsFile *)pf;
  LsState now;
  const LsState *s = &f->snap;
  if (f->lock == SQLITE_LOCK_NONE) {
    ls_current(f, &now);
    s = &now;
  }
  sqlite3_int64 size = (sqlite3_int64)s->commit * s->pageSize;
  /* The header (and the 16 bytes SQLite re-reads at each transaction) comes with the version. */
  if (f->lock < SQLITE_LOCK_RESERVED && off + amt <= 100) {
    if (size == 0) {
      memset(out, 0, (size_t)amt);
      return SQLITE_IOERR_SHORT_READ;
    }
    memcpy(out, s->header + off, (size_t)amt);
    return SQLITE_OK;
  }
  if (f->broken) return SQLITE_IOERR_READ;
  Buf b;
  buf_init(&b, OP_READ);
  buf_u32(&b, s->counter);
  buf_u64(&b, (uint64_t)off);
  buf_u32(&b, (uint32_t)amt);
  Reply r;
  if (ls_call(f, &b, &r)) {
    ls_log("read of %d bytes at offset %lld: the page server closed the connection", amt, (long long)off);
    return SQLITE_IOERR_READ;
  }
  if (r.status == ST_ERR) return ls_fail(&r, "read");
  f->pinned = f->lock != SQLITE_LOCK_NONE;
  memcpy(out, r.data, r.n < (uint32_t)amt ? r.n : (uint32_t)amt);
  if (r.n < (uint32_t)amt) memset((char *)out + r.n, 0, (size_t)amt - r.n);
  int rc = r.status == ST_SHORT ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
  reply_free(&r);
  return rc;
}

static int ls_write(sqlite3_file *pf, const void *data, int amt, sqlite3_int64 off) {
  LsFile *f = (LsFile *)pf;
  if (f->lock < SQLITE_LOCK_RESERVED) return SQLITE_READONLY;
  if (f->broken) return SQLITE_IOERR_WRITE;
  Buf b;
  buf_init(&b, OP_WRITE);
  buf_u64(&b, (uint64_t)off);
  if (buf_bytes(&b, data, (size_t)amt)) return SQLITE_NOMEM;
  if (ls_call(f, &b, NULL)) return SQLITE_IOERR_WRITE;
  if (off + amt > f->wsize) f->wsize = off + amt;
  return SQLITE_OK;
}

static int ls_truncate(sqlite3_file *pf, sqlite3_int64 size) {
  LsFile *f = (LsFile *)pf;
  if (f->lock < SQLITE_LOCK_RESERVED) return SQLITE_READONLY;
  Buf b;
  buf_init(&b, OP_TRUNCATE);
  buf_u64(&b, (uint64_t)size);
  if (ls_call(f, &b, NULL)) return SQLITE_IOERR_TRUNCATE;
  f->wsize = size;
  return SQLITE_OK;
}

/* A reply carrying a version becomes the transaction's version. */
static int ls_state_call(LsFile *f, int op, int level, int errcode, const char *what) {
  if (f->broken) return errcode;
  Buf b;
  buf_init(&b, op);
  if (op == OP_UNLOCK) buf_u8(&b, (uint8_t)level);
  Reply r;
  if (ls_call(f, &b, &r)) {
    ls_log("%s: the page server closed the connection", what);
    return errcode;
  }
  if (r.status == ST_ERR) return ls_fail(&r, what);
  if (r.n >= LS_STATE_SIZE) decode_state(r.data, &f->snap);
  reply_free(&r);
  return SQLITE_OK;
}

static int ls_sync(sqlite3_file *pf, int flags) {
  (void)flags;
  LsFile *f = (LsFile *)pf;
  if (f->lock < SQLITE_LOCK_RESERVED) return SQLITE_OK;
  return ls_state_call(f, OP_SYNC, 0, SQLITE_IOERR_FSYNC, "commit");
}

static int ls_file_size(sqlite3_file *pf, sqlite3_int64 *size) {
  LsFile *f = (LsFile *)pf;
  if (f->lock >= SQLITE_LOCK_RESERVED) {
    *size = f->wsize;
    return SQLITE_OK;
  }
  LsState now;
  const LsState *s = &f->snap;
  if (f->lock == SQLITE_LOCK_NONE) {
    ls_current(f, &now);
    s = &now;
  }
  *size = (sqlite3_int64)s->commit * s->pageSize;
  return SQLITE_OK;
}

static int ls_lock(sqlite3_file *pf, int level) {
  LsFile *f = (LsFile *)pf;
  if (level <= f->lock) return SQLITE_OK;
  if (f->lock == SQLITE_LOCK_NONE) {
    /* A read transaction starts: take the newest version (or this connection's point in time). */
    if (f->broken && ls_reconnect(f) != SQLITE_OK) return SQLITE_IOERR_LOCK;
    if (!f->hasView) {
      uint64_t alive = ls_shm_alive();
      if (alive == 0 || now_ms() > alive + LS_HEARTBEAT_STALE_MS) {
        /* The server stopped (0) or stopped updating its state: make sure it is still there. */
        Buf b;
        buf_init(&b, OP_PING);
        Reply r;
        if (ls_call(f, &b, &r) || r.status != ST_OK) {
          reply_free(&r);
          if (ls_reconnect(f) != SQLITE_OK) return SQLITE_IOERR_LOCK;
        } else reply_free(&r);
      }
    }
    ls_current(f, &f->snap);
    f->pinned = 0;
    f->lock = SQLITE_LOCK_SHARED;
    if (level == SQLITE_LOCK_SHARED) return SQLITE_OK;
  }
  if (level >= SQLITE_LOCK_RESERVED && f->lock < SQLITE_LOCK_RESERVED) {
    if (f->broken) return SQLITE_IOERR_LOCK;
    Buf b;
    buf_init(&b, OP_LOCK);
    buf_u8(&b, SQLITE_LOCK_RESERVED);
    buf_u32(&b, f->snap.counter);
    Reply r;
    if (ls_call(f, &b, &r)) return SQLITE_IOERR_LOCK;
    if (r.status == ST_ERR) return ls_fail(&r, "write lock");
    reply_free(&r);
    f->wsize = (sqlite3_int64)f->snap.commit * f->snap.pageSize;
    f->pinned = 1;
  }
  f->lock = level;
  return SQLITE_OK;
}

static int ls_unlock(sqlite3_file *pf, int level) {
  LsFile *f = (LsFile *)pf;
  if (level >= f->lock) return SQLITE_OK;
  int rc = SQLITE_OK;
  if (f->lock >= SQLITE_LOCK_RESERVED && level < SQLITE_LOCK_RESERVED) {
    /* Leaving a write transaction: what it wrote becomes a local commit. */
    rc = ls_state_call(f, OP_UNLOCK, level, SQLITE_IOERR_UNLOCK, "commit");
    f->pinned = level == SQLITE_LOCK_SHARED;
  } else if (level == SQLITE_LOCK_NONE && f->pinned && !f->broken) {
    Buf b;
    buf_init(&b, OP_RELEASE);
    ls_call(f, &b, NULL);
    f->pinned = 0;
  }
  f->lock = level;
  return rc;
}

int ls_check_reserved(sqlite3_file *pf, int *out) {
  (void)pf;
  *out = 0;
  return SQLITE_OK;
}

/* PRAGMA litestream_* (and the SQL functions): answered by the server for this connection. */
int ls_pragma(LsFile *f, const char *name, const char *value, char **result) {
  if (f->broken && ls_reconnect(f) != SQLITE_OK) {
    *result = sqlite3_mprintf("the page server is not reachable");
    return SQLITE_ERROR;
  }
  Buf b;
  buf_init(&b, OP_PRAGMA);
  buf_str(&b, name);
  buf_u8(&b, value != NULL);
  buf_str(&b, value);
  Reply r;
  if (ls_call(f, &b, &r)) {
    *result = sqlite3_mprintf("the page server closed the connection");
    return SQLITE_ERROR;
  }
  if (r.status == ST_ERR) {
    *result = sqlite3_mprintf("%s", r.message ? r.message : "error");
    reply_free(&r);
    return SQLITE_ERROR;
  }
  int rc = SQLITE_OK;
  const unsigned char *p = r.data;
  uint32_t kind = r.n >= 1 ? p[0] : 0;
  uint32_t len = r.n >= 5 ? get32(p + 1) : 0;
  if (5 + len > r.n) len = 0;
  if (kind == 0) rc = SQLITE_NOTFOUND;
  else if (kind == 1) *result = sqlite3_mprintf("%.*s", (int)len, (const char *)p + 5);
  uint32_t at = 5 + len;
  if (at < r.n && p[at] == 1 && at + 1 + LS_STATE_SIZE <= r.n) {
    LsState s;
    decode_state(p + at + 1, &s);
    f->hasView = (s.flags & LS_FLAG_TIME_TRAVEL) != 0;
    if (f->hasView) f->view = s;
  }
  reply_free(&r);
  return rc;
}

static int ls_file_control(sqlite3_file *pf, int op, void *arg) {
  LsFile *f = (LsFile *)pf;
  if (op == SQLITE_FCNTL_PRAGMA) {
    char **a = (char **)arg;
    if (a[1] == NULL || strncasecmp(a[1], "litestream_", 11) != 0) return SQLITE_NOTFOUND;
    return ls_pragma(f, a[1], a[2], &a[0]);
  }
  return SQLITE_NOTFOUND;
}

int ls_sector_size(sqlite3_file *pf) {
  (void)pf;
  return 4096;
}

int ls_device_characteristics(sqlite3_file *pf) {
  (void)pf;
  return 0;
}

const sqlite3_io_methods ls_main_methods = {
    .iVersion = 1,
    .xClose = ls_close,
    .xRead = ls_read,
    .xWrite = ls_write,
    .xTruncate = ls_truncate,
    .xSync = ls_sync,
    .xFileSize = ls_file_size,
    .xLock = ls_lock,
    .xUnlock = ls_unlock,
    .xCheckReservedLock = ls_check_reserved,
    .xFileControl = ls_file_control,
    .xSectorSize = ls_sector_size,
    .xDeviceCharacteristics = ls_device_characteristics,
};

/* ------------------------------------------------------------------ memory journals */

MemData *mem_find(const char *name) {
  for (MemData *m = g.mems; m; m = m->next)
    if (strcmp(m->name, name) == 0) return m;
  return NULL;
}

void mem_unlink(MemData *m) {
  for (MemData **pp = &g.mems; *pp; pp = &(*pp)->next)
    if (*pp == m) {
      *pp = m->next;
      break;
    }
}

static int mem_close(sqlite3_file *pf) {
  LsFile *f = (LsFile *)pf;
  pthread_mutex_lock(&g.mu);
  MemData *m = f->mem;
  if (m && --m->refs == 0 && m->deleted) {
    free(m->buf);
    free(m->name);
    free(m);
  }
  pthread_mutex_unlock(&g.mu);
  f->mem = NULL;
  return SQLITE_OK;
}

static int mem_read(sqlite3_file *pf, void *out, int amt, sqlite3_int64 off) {
  MemData *m = ((LsFile *)pf)->mem;
  if (off >= m->size) {
    memset(out, 0, (size_t)amt);
    return SQLITE_IOERR_SHORT_READ;
  }
  sqlite3_int64 n = m->size - off < amt ? m->size - off : amt;
  memcpy(out, m->buf + off, (size_t)n);
  if (n < amt) {
    memset((char *)out + n, 0, (size_t)(amt - n));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

static int mem_write(sqlite3_file *pf, const void *data, int amt, sqlite3_int64 off) {
  MemData *m = ((LsFile *)pf)->mem;
  if (off + amt > m->cap) {
    sqlite3_int64 cap = (off + amt) * 2;
    unsigned char *p = realloc(m->buf, (size_t)cap);
    if (!p) return SQLITE_IOERR_NOMEM;
    memset(p + m->cap, 0, (size_t)(cap - m->cap));
    m->buf = p;
    m->cap = cap;
  }
  memcpy(m->buf + off, data, (size_t)amt);
  if (off + amt > m->size) m->size = off + amt;
  return SQLITE_OK;
}

static int mem_truncate(sqlite3_file *pf, sqlite3_int64 size) {
  MemData *m = ((LsFile *)pf)->mem;
  if (size < m->size) m->size = size;
  return SQLITE_OK;
}

static int mem_sync(sqlite3_file *pf, int flags) {
  (void)pf;
  (void)flags;
  return SQLITE_OK;
}

static int mem_file_size(sqlite3_file *pf, sqlite3_int64 *size) {
  *size = ((LsFile *)pf)->mem->size;
  return SQLITE_OK;
}

static int mem_lock(sqlite3_file *pf, int level) {
  (void)pf;
  (void)level;
  return SQLITE_OK;
}

static int mem_file_control(sqlite3_file *pf, int op, void *arg) {
  (void)pf;
  (void)op;
  (void)arg;
  return SQLITE_NOTFOUND;
}

const sqlite3_io_methods ls_mem_methods = {
    .iVersion = 1,
    .xClose = mem_close,
    .xRead = mem_read,
    .xWrite = mem_write,
    .xTruncate = mem_truncate,
    .xSync = mem_sync,
    .xFileSize = mem_file_size,
    .xLock = mem_lock,
    .xUnlock = mem_lock,
    .xCheckReservedLock = ls_check_reserved,
    .xFileControl = mem_file_control,
    .xSectorSize = ls_sector_size,
    .xDeviceCharacteristics = ls_device_characteristics,
};

