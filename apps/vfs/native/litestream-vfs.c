/*
 * litestream-vfs.so: a thin SQLite VFS shim. It registers the VFS "litestream" and
 * forwards the main database file's open/read/size/lock/file-control/write/sync to the
 * TypeScript page server (apps/vfs/dist/server.js) over a Unix socket, starting the
 * server when none runs. All replication logic lives in the server; this file only
 * moves bytes, keeps the lock level, and reads the current version from a state file
 * the server keeps up to date, so a read transaction whose pages SQLite has cached
 * costs no round trip at all.
 *
 * Wire format (big-endian): request = u32 length, u8 op, payload; reply = u32 length,
 * u8 status (0 ok, 1 error: u32 SQLite code + string, 2 short read), payload. Strings
 * are u32 length + bytes. See apps/vfs/src/protocol.ts for the same thing in TypeScript.
 *
 * This file: the VFS, the router in front of the default VFS, the SQL functions and the
 * entry point. wire.c talks to the server, file.c is the database file and the journals.
 */
#define LS_MAIN
#include "ls.h"
SQLITE_EXTENSION_INIT1

struct LsGlobal g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ------------------------------------------------------------------ the VFS */

static int is_journal(const char *name) {
  size_t n = name ? strlen(name) : 0;
  return (n > 8 && strcmp(name + n - 8, "-journal") == 0) || (n > 4 && strcmp(name + n - 4, "-wal") == 0);
}

static int ls_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *outFlags) {
  (void)vfs;
  LsFile *f = (LsFile *)pf;
  if (flags & SQLITE_OPEN_MAIN_DB) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    char *message = NULL;
    int rc = ls_open_session(f, name ? name : "", flags, &message);
    if (rc != SQLITE_OK) {
      ls_log("cannot open %s: %s", name ? name : "(temp)", message ? message : "error");
      sqlite3_free(message);
      return rc;
    }
    f->kind = KIND_MAIN;
    f->base.pMethods = &ls_main_methods;
    if (outFlags) *outFlags = flags;
    return SQLITE_OK;
  }
  if ((flags & SQLITE_OPEN_MAIN_JOURNAL) && name) {
    memset(f, 0, sizeof *f);
    pthread_mutex_lock(&g.mu);
    MemData *m = mem_find(name);
    if (!m) {
      m = calloc(1, sizeof *m);
      if (m) m->name = strdup(name);
      if (!m || !m->name) {
        free(m);
        pthread_mutex_unlock(&g.mu);
        return SQLITE_NOMEM;
      }
      m->next = g.mems;
      g.mems = m;
    }
    m->refs++;
    pthread_mutex_unlock(&g.mu);
    f->kind = KIND_MEMORY;
    f->mem = m;
    f->base.pMethods = &ls_mem_methods;
    if (outFlags) *outFlags = flags;
    return SQLITE_OK;
  }
  if (flags & SQLITE_OPEN_WAL) return SQLITE_CANTOPEN;
  /* Temporary databases, statement journals, …: the default VFS. */
  return g.parent->xOpen(g.parent, name, pf, flags, outFlags);
}

static int ls_delete(sqlite3_vfs *vfs, const char *name, int syncDir) {
  (void)vfs;
  if (is_journal(name)) {
    pthread_mutex_lock(&g.mu);
    MemData *m = mem_find(name);
    if (m) {
      mem_unlink(m);
      m->deleted = 1;
      if (m->refs == 0) {
        free(m->buf);
        free(m->name);
        free(m);
      } else m->size = 0;
    }
    pthread_mutex_unlock(&g.mu);
    return SQLITE_OK;
  }
  return g.parent->xDelete(g.parent, name, syncDir);
}

static int ls_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  (void)vfs;
  /* No journal is ever "hot": journals live in memory and die with their process. */
  if (is_journal(name)) {
    *out = 0;
    return SQLITE_OK;
  }
  return g.parent->xAccess(g.parent, name, flags, out);
}

static int ls_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
  (void)vfs;
  return g.parent->xFullPathname(g.parent, name, n, out);
}
static void *ls_dlopen(sqlite3_vfs *vfs, const char *name) {
  (void)vfs;
  return g.parent->xDlOpen(g.parent, name);
}
static void ls_dlerror(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  g.parent->xDlError(g.parent, n, out);
}
static void (*ls_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
  (void)vfs;
  return g.parent->xDlSym(g.parent, h, sym);
}
static void ls_dlclose(sqlite3_vfs *vfs, void *h) {
  (void)vfs;
  g.parent->xDlClose(g.parent, h);
}
static int ls_randomness(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return g.parent->xRandomness(g.parent, n, out);
}
static int ls_sleep(sqlite3_vfs *vfs, int us) {
  (void)vfs;
  return g.parent->xSleep(g.parent, us);
}
static int ls_current_time(sqlite3_vfs *vfs, double *out) {
  (void)vfs;
  return g.parent->xCurrentTime(g.parent, out);
}
static int ls_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  return g.parent->xGetLastError ? g.parent->xGetLastError(g.parent, n, out) : 0;
}
static int ls_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
  (void)vfs;
  return g.parent->xCurrentTimeInt64(g.parent, out);
}

static sqlite3_vfs ls_vfs = {
    .iVersion = 2,
    .mxPathname = 1024,
    .zName = "litestream",
    .xOpen = ls_open,
    .xDelete = ls_delete,
    .xAccess = ls_access,
    .xFullPathname = ls_full_pathname,
    .xDlOpen = ls_dlopen,
    .xDlError = ls_dlerror,
    .xDlSym = ls_dlsym,
    .xDlClose = ls_dlclose,
    .xRandomness = ls_randomness,
    .xSleep = ls_sleep,
    .xCurrentTime = ls_current_time,
    .xGetLastError = ls_get_last_error,
    .xCurrentTimeInt64 = ls_current_time_int64,
};

/* ------------------------------------------------------------------ the router */

/*
 * better-sqlite3 is built with SQLITE_USE_URI=0 and opens without SQLITE_OPEN_URI, so
 * `new Database("file:app.db?vfs=litestream")` reaches the default VFS as a plain file
 * name. The router stands in for the default VFS under its own name and passes every
 * call straight through, except for names that carry `vfs=litestream` in that literal
 * form, which go to the litestream VFS. Hosts that parse URIs never send such names.
 */
static sqlite3_vfs ls_router;

static int ls_routed(const char *name) {
  for (const char *p = name; p && (p = strstr(p, "vfs=litestream")) != NULL; p += 14) {
    char before = p == name ? 0 : p[-1];
    char after = p[14];
    if ((before == '?' || before == '&') && (after == 0 || after == '&' || after == '-')) return 1;
  }
  return 0;
}

static int router_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *outFlags) {
  if (ls_routed(name)) return ls_open(&ls_vfs, name, pf, flags, outFlags);
  (void)vfs;
  return g.parent->xOpen(g.parent, name, pf, flags, outFlags);
}

static int router_delete(sqlite3_vfs *vfs, const char *name, int syncDir) {
  if (ls_routed(name)) return ls_delete(&ls_vfs, name, syncDir);
  (void)vfs;
  return g.parent->xDelete(g.parent, name, syncDir);
}

static int router_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  if (ls_routed(name)) return ls_access(&ls_vfs, name, flags, out);
  (void)vfs;
  return g.parent->xAccess(g.parent, name, flags, out);
}

/* Every other method of the parent is called with the parent itself. */
#define ROUTE(ret, method, params, args) \
  static ret router_##method params { (void)vfs; return g.parent->method args; }
ROUTE(int, xFullPathname, (sqlite3_vfs * vfs, const char *name, int n, char *out), (g.parent, name, n, out))
ROUTE(void *, xDlOpen, (sqlite3_vfs * vfs, const char *name), (g.parent, name))
ROUTE(int, xRandomness, (sqlite3_vfs * vfs, int n, char *out), (g.parent, n, out))
ROUTE(int, xSleep, (sqlite3_vfs * vfs, int us), (g.parent, us))
ROUTE(int, xCurrentTime, (sqlite3_vfs * vfs, double *out), (g.parent, out))
ROUTE(int, xGetLastError, (sqlite3_vfs * vfs, int n, char *out), (g.parent, n, out))
ROUTE(int, xCurrentTimeInt64, (sqlite3_vfs * vfs, sqlite3_int64 *out), (g.parent, out))
ROUTE(int, xSetSystemCall, (sqlite3_vfs * vfs, const char *name, sqlite3_syscall_ptr p), (g.parent, name, p))
ROUTE(sqlite3_syscall_ptr, xGetSystemCall, (sqlite3_vfs * vfs, const char *name), (g.parent, name))
ROUTE(const char *, xNextSystemCall, (sqlite3_vfs * vfs, const char *name), (g.parent, name))
#undef ROUTE
static void router_xDlError(sqlite3_vfs *vfs, int n, char *out) {
  (void)vfs;
  g.parent->xDlError(g.parent, n, out);
}
static void (*router_xDlSym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
  (void)vfs;
  return g.parent->xDlSym(g.parent, h, sym);
}
static void router_xDlClose(sqlite3_vfs *vfs, void *h) {
  (void)vfs;
  g.parent->xDlClose(g.parent, h);
}

/* Installs the router in front of the default VFS, keeping the default's name. */
static int ls_install_router(void) {
  sqlite3_vfs *p = g.parent;
  ls_router = *p;
  ls_router.pNext = NULL;
  ls_router.szOsFile = ls_vfs.szOsFile;
  ls_router.xOpen = router_open;
  ls_router.xDelete = router_delete;
  ls_router.xAccess = router_access;
  ls_router.xFullPathname = router_xFullPathname;
  ls_router.xDlOpen = p->xDlOpen ? router_xDlOpen : NULL;
  ls_router.xDlError = p->xDlError ? router_xDlError : NULL;
  ls_router.xDlSym = p->xDlSym ? router_xDlSym : NULL;
  ls_router.xDlClose = p->xDlClose ? router_xDlClose : NULL;
  ls_router.xRandomness = router_xRandomness;
  ls_router.xSleep = router_xSleep;
  ls_router.xCurrentTime = router_xCurrentTime;
  ls_router.xGetLastError = p->xGetLastError ? router_xGetLastError : NULL;
  if (p->iVersion >= 2) ls_router.xCurrentTimeInt64 = p->xCurrentTimeInt64 ? router_xCurrentTimeInt64 : NULL;
  if (p->iVersion >= 3) {
    ls_router.xSetSystemCall = p->xSetSystemCall ? router_xSetSystemCall : NULL;
    ls_router.xGetSystemCall = p->xGetSystemCall ? router_xGetSystemCall : NULL;
    ls_router.xNextSystemCall = p->xNextSystemCall ? router_xNextSystemCall : NULL;
  }
  return sqlite3_vfs_register(&ls_router, 1);
}

/* ------------------------------------------------------------------ SQL functions */

/* The connection's main database file, if it is ours. */
static LsFile *ls_main_file(sqlite3_context *ctx) {
  sqlite3_file *pf = NULL;
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &pf) != SQLITE_OK || pf == NULL || pf->pMethods != &ls_main_methods) {
    sqlite3_result_error(ctx, "the main database is not opened with the litestream VFS (file:name.db?vfs=litestream)", -1);
    return NULL;
  }
  return (LsFile *)pf;
}

static void ls_function(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *name = sqlite3_user_data(ctx);
  LsFile *f = ls_main_file(ctx);
  if (!f) return;
  const char *value = argc > 0 ? (const char *)sqlite3_value_text(argv[0]) : NULL;
  char *result = NULL;
  int rc = ls_pragma(f, name, value, &result);
  if (rc == SQLITE_OK) {
    if (result && strcmp(name, "litestream_lag") == 0) {
      sqlite3_result_int64(ctx, strtoll(result, NULL, 10));
      sqlite3_free(result);
    } else if (result) sqlite3_result_text(ctx, result, -1, sqlite3_free);
    else sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_error(ctx, result ? result : "litestream function failed", -1);
  sqlite3_free(result);
}

static void ls_set_time(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  LsFile *f = ls_main_file(ctx);
  if (!f) return;
  char *result = NULL;
  const char *value = argc > 0 ? (const char *)sqlite3_value_text(argv[0]) : NULL;
  if (ls_pragma(f, "litestream_time", value ? value : "latest", &result) == SQLITE_OK) {
    sqlite3_free(result);
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_error(ctx, result ? result : "litestream_set_time failed", -1);
  sqlite3_free(result);
}

static int ls_register_functions(sqlite3 *db) {
  int rc = sqlite3_create_function(db, "litestream_set_time", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL, ls_set_time, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "litestream_time", 0, SQLITE_UTF8, (void *)"litestream_time", ls_function, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "litestream_txid", 0, SQLITE_UTF8, (void *)"litestream_txid", ls_function, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "litestream_lag", 0, SQLITE_UTF8, (void *)"litestream_lag", ls_function, NULL, NULL);
  return rc;
}

/*
 * SQLite's own page cache is the in-process cache of this VFS: it stays valid across
 * transactions until the replica moves (the change counter is the version's). A page
 * it does not hold costs a round trip to the page server, so connections on the
 * litestream VFS start with at least LS_CACHE_KIB of it (allocated as pages are used);
 * `PRAGMA cache_size` still sets anything else.
 */
#define LS_CACHE_KIB 32768

static void ls_size_cache(sqlite3 *db) {
  sqlite3_file *pf = NULL;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &pf) != SQLITE_OK || pf == NULL || pf->pMethods != &ls_main_methods) return;
  sqlite3_stmt *stmt = NULL;
  sqlite3_int64 now = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA main.cache_size", -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) now = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  /* Negative: KiB; positive: pages (of the database's page size). */
  sqlite3_int64 kib = now < 0 ? -now : now * 4;
  if (kib >= LS_CACHE_KIB) return;
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA main.cache_size = -%d", LS_CACHE_KIB);
  sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int ls_auto_extension(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)err;
  (void)api;
  ls_size_cache(db);
  return ls_register_functions(db);
}

/* ------------------------------------------------------------------ load */

/* Reads the configuration (once, at the first load) and derives the server's paths. */
static int ls_initialize(char **err) {
  if (g.initialized) return SQLITE_OK;
  size_t n = 0;
  for (char **e = environ; e && *e; e++) n++;
  g.env = calloc(n + 1, sizeof(char *));
  if (!g.env) return SQLITE_NOMEM;
  for (size_t i = 0; i < n; i++) g.env[i] = strdup(environ[i]);
  const char *url = env_get("LITESTREAM_REPLICA_URL");
  if (url == NULL || *url == 0) {
    *err = sqlite3_mprintf("litestream-vfs: LITESTREAM_REPLICA_URL is not set: set it to the replica (s3://bucket/path, file:///dir) before loading the extension");
    return SQLITE_ERROR;
  }
  const char **settings = calloc(n + 1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (is_setting(g.env[i])) settings[k++] = g.env[i];
  qsort(settings, k, sizeof(char *), cmp_str);
  uint64_t h = 14695981039346656037ull;
  char uid[32];
  snprintf(uid, sizeof uid, "uid=%u", (unsigned)getuid());
  h = fnv(h, uid);
  for (size_t i = 0; i < k; i++) h = fnv(h, settings[i]);
  free(settings);
  snprintf(g.key, sizeof g.key, "%016llx", (unsigned long long)h);

  const char *dir = env_get("SQLREP_VFS_RUNTIME_DIR");
  if (dir && *dir) snprintf(g.runtimeDir, sizeof g.runtimeDir, "%s", dir);
  else snprintf(g.runtimeDir, sizeof g.runtimeDir, "/tmp/sqlrep-vfs-%u", (unsigned)getuid());
  if (mkdir(g.runtimeDir, 0700) != 0 && errno != EEXIST) {
    *err = sqlite3_mprintf("litestream-vfs: cannot create %s: %s", g.runtimeDir, strerror(errno));
    return SQLITE_ERROR;
  }
  struct stat st;
  if (lstat(g.runtimeDir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
    *err = sqlite3_mprintf("litestream-vfs: %s must be a directory of this user with mode 0700", g.runtimeDir);
    return SQLITE_ERROR;
  }
  if (strlen(g.runtimeDir) + 22 >= sizeof g.sockPath) {
    *err = sqlite3_mprintf("litestream-vfs: the runtime directory %s is too long for a socket path (set SQLREP_VFS_RUNTIME_DIR to a shorter one)", g.runtimeDir);
    return SQLITE_ERROR;
  }
  snprintf(g.sockPath, sizeof g.sockPath, "%.80s/%s.sock", g.runtimeDir, g.key);
  snprintf(g.statePath, sizeof g.statePath, "%s/%s.state", g.runtimeDir, g.key);
  snprintf(g.lockPath, sizeof g.lockPath, "%s/%s.lock", g.runtimeDir, g.key);
  snprintf(g.logPath, sizeof g.logPath, "%s/%s.out", g.runtimeDir, g.key);

  const char *server = env_get("SQLREP_VFS_SERVER");
  if (server && *server) snprintf(g.server, sizeof g.server, "%s", server);
  else {
    Dl_info info;
    if (!dladdr((void *)ls_initialize, &info) || !info.dli_fname) {
      *err = sqlite3_mprintf("litestream-vfs: cannot tell where the extension was loaded from");
      return SQLITE_ERROR;
    }
    char so[PATH_MAX - 32];
    snprintf(so, sizeof so, "%s", info.dli_fname);
    char *slash = strrchr(so, '/');
    if (slash) *slash = 0;
    else snprintf(so, sizeof so, ".");
    snprintf(g.server, sizeof g.server, "%s/../dist/server.js", so);
  }
  const char *node = env_get("SQLREP_VFS_NODE");
  snprintf(g.node, sizeof g.node, "%s", node && *node ? node : SQLREP_NODE_PATH);
  if (access(g.node, X_OK) != 0) {
    /* Not where the build found it: look on the PATH. */
    const char *path = env_get("PATH");
    char found[PATH_MAX] = "";
    for (const char *p = path; p && *p;) {
      const char *colon = strchr(p, ':');
      size_t len = colon ? (size_t)(colon - p) : strlen(p);
      snprintf(found, sizeof found, "%.*s/node", (int)len, p);
      if (access(found, X_OK) == 0) break;
      found[0] = 0;
      p = colon ? colon + 1 : p + len;
    }
    if (!found[0]) {
      *err = sqlite3_mprintf("litestream-vfs: no node binary at %s or on the PATH (set SQLREP_VFS_NODE)", g.node);
      return SQLITE_ERROR;
    }
    snprintf(g.node, sizeof g.node, "%s", found);
  }
  if (access(g.server, R_OK) != 0) {
    *err = sqlite3_mprintf("litestream-vfs: the page server %s is missing (build apps/vfs)", g.server);
    return SQLITE_ERROR;
  }
  g.parent = sqlite3_vfs_find(NULL);
  if (!g.parent) return SQLITE_ERROR;
  ls_vfs.szOsFile = (int)(sizeof(LsFile) > (size_t)g.parent->szOsFile ? sizeof(LsFile) : (size_t)g.parent->szOsFile);
  ls_vfs.mxPathname = g.parent->mxPathname;
  int rc = sqlite3_vfs_register(&ls_vfs, 0);
  if (rc == SQLITE_OK) rc = ls_install_router();
  if (rc != SQLITE_OK) return rc;
  sqlite3_auto_extension((void (*)(void))ls_auto_extension);
  g.initialized = 1;
  return SQLITE_OK;
}

/* The only symbol the library exports (it is built with -fvisibility=hidden). */
__attribute__((visibility("default"))) int sqlite3_litestreamvfs_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  pthread_mutex_lock(&g.mu);
  int rc = ls_initialize(err);
  pthread_mutex_unlock(&g.mu);
  if (rc != SQLITE_OK) return rc;
  rc = ls_register_functions(db);
  if (rc != SQLITE_OK) return rc;
  /* The VFS must outlive the connection that loaded it. */
  return SQLITE_OK_LOAD_PERMANENTLY;
}

