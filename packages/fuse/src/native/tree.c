/* The namespace: inode numbers, directories, database names and their companion
 * files (-journal, -wal, -shm, -pos, -lock), and the attributes each one shows. */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const SUFFIX[DB_FILES] = {"", "-journal", "-wal", "-shm", "-pos", "-lock"};

struct node *node_get(struct fs *fs, uint64_t ino) {
  if (ino == 0 || ino >= fs->ninodes) return NULL;
  return fs->inodes[ino];
}

/* Inode numbers are never reused, so the kernel never confuses a dropped database's
 * files with a new one's (no generation numbers needed). */
uint64_t node_register(struct fs *fs, struct node *n) {
  if (fs->ninodes == fs->capinodes) {
    uint64_t cap = fs->capinodes ? fs->capinodes * 2 : 256;
    fs->inodes = realloc(fs->inodes, cap * sizeof *fs->inodes);
    memset(fs->inodes + fs->capinodes, 0, (cap - fs->capinodes) * sizeof *fs->inodes);
    fs->capinodes = cap;
  }
  if (fs->ninodes == 0) fs->ninodes = 1; /* ino 0 is invalid */
  n->ino = fs->ninodes++;
  fs->inodes[n->ino] = n;
  return n->ino;
}

struct dir *dir_find(struct fs *fs, struct dir *parent, const char *name) {
  for (int i = 0; i < fs->ndirs; i++) {
    struct dir *d = fs->dirs[i];
    if (!d->removed && d->parent == parent && strcmp(d->name, name) == 0) return d;
  }
  return NULL;
}

struct dir *dir_create(struct fs *fs, struct dir *parent, const char *name) {
  struct dir *d = calloc(1, sizeof *d);
  d->node.kind = K_DIR;
  d->node.dir = d;
  d->name = strdup(name);
  d->parent = parent;
  if (!parent || parent->rel[0] == 0) {
    d->rel = strdup(name);
  } else {
    size_t len = strlen(parent->rel) + 1 + strlen(name) + 1;
    d->rel = malloc(len);
    snprintf(d->rel, len, "%s/%s", parent->rel, name);
  }
  if (fs->ndirs == fs->capdirs) {
    fs->capdirs = fs->capdirs ? fs->capdirs * 2 : 16;
    fs->dirs = realloc(fs->dirs, fs->capdirs * sizeof *fs->dirs);
  }
  fs->dirs[fs->ndirs++] = d;
  node_register(fs, &d->node);
  return d;
}

/* The directory for "a/b" below the root (dirs[0]), created on the way when asked. */
struct dir *dir_for_path(struct fs *fs, const char *rel, int create) {
  struct dir *d = fs->dirs[0];
  char *copy = strdup(rel), *save = NULL;
  for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    struct dir *next = dir_find(fs, d, part);
    if (!next) {
      if (!create) {
        free(copy);
        return NULL;
      }
      next = dir_create(fs, d, part);
    }
    d = next;
  }
  free(copy);
  return d;
}

struct db *db_find(struct fs *fs, struct dir *dir, const char *base) {
  for (int i = 0; i < fs->ndbs; i++) {
    struct db *db = fs->dbs[i];
    if (db && !db->removed && db->dir == dir && strcmp(db->base, base) == 0) return db;
  }
  return NULL;
}

struct db *db_by_name(struct fs *fs, const char *name) {
  for (int i = 0; i < fs->ndbs; i++) {
    struct db *db = fs->dbs[i];
    if (db && !db->removed && strcmp(db->name, name) == 0) return db;
  }
  return NULL;
}

char *full_db_name(struct dir *dir, const char *base) {
  if (dir->rel[0] == 0) return strdup(base);
  size_t len = strlen(dir->rel) + 1 + strlen(base) + 1;
  char *out = malloc(len);
  snprintf(out, len, "%s/%s", dir->rel, base);
  return out;
}

/* The kind a new name would have: K_DB for a plain name, or the companion kind, with
 * the database's base name in *base_out (caller frees). */
int name_kind(const char *name, char **base_out) {
  size_t n = strlen(name);
  for (int k = 1; k < DB_FILES; k++) {
    size_t s = strlen(SUFFIX[k]);
    if (n > s && strcmp(name + n - s, SUFFIX[k]) == 0) {
      *base_out = strndup(name, n - s);
      return K_DB + k;
    }
  }
  *base_out = strdup(name);
  return K_DB;
}

int real_exists(struct db *db, int kind) {
  struct stat st;
  return stat(db->path[FILE_INDEX(kind)], &st) == 0;
}

/* Resolves a name in a directory to a node that exists now; 0 or ENOENT. */
int name_resolve(struct fs *fs, struct dir *dir, const char *name, struct node **out) {
  if (dir == fs->dirs[0]) {
    if (strcmp(name, ".primary") == 0) {
      if (!fs->primary) return ENOENT;
      *out = &fs->primary_node;
      return 0;
    }
    if (strcmp(name, ".lag") == 0) {
      *out = &fs->lag_node;
      return 0;
    }
  }
  struct dir *sub = dir_find(fs, dir, name);
  if (sub) {
    *out = &sub->node;
    return 0;
  }
  struct db *db = db_find(fs, dir, name);
  if (db) {
    *out = &db->nodes[0];
    return 0;
  }
  char *base = NULL;
  int kind = name_kind(name, &base);
  db = kind == K_DB ? NULL : db_find(fs, dir, base);
  free(base);
  if (!db) return ENOENT;
  if (kind <= K_SHM && !real_exists(db, kind)) return ENOENT;
  *out = &db->nodes[FILE_INDEX(kind)];
  return 0;
}

/* .lag: "%+010d\n" of the lag in milliseconds. */
void format_lag(struct fs *fs, char *out, size_t *len) {
  int64_t value = fs->lag_value;
  if (fs->lag_mode == 1) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    value = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - fs->lag_value;
    if (value < 0) value = 0;
    if (value > 2147483647) value = 2147483647;
  }
  *len = (size_t)snprintf(out, 24, "%+010d\n", (int)value);
}

static void set_time_ms(struct stat *st, int64_t ms) {
  st->st_mtim.tv_sec = ms / 1000;
  st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
  st->st_atim = st->st_mtim;
  st->st_ctim = st->st_mtim;
}

/* Attributes of a node: the real file's, with our inode number and a mode that says
 * whether this node may write (0666 on the primary, 0444 on a replica, as LiteFS). */
int node_stat(struct fs *fs, struct node *n, struct handle *h, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_uid = fs->uid;
  st->st_gid = fs->gid;
  st->st_nlink = 1;
  st->st_blksize = 4096;
  switch (n->kind) {
    case K_DIR: {
      st->st_mode = S_IFDIR | 0755;
      st->st_nlink = 2;
      struct stat root;
      if (stat(fs->statfs_path, &root) == 0) {
        st->st_mtim = root.st_mtim;
        st->st_ctim = root.st_ctim;
        st->st_atim = root.st_atim;
      }
      break;
    }
    case K_DB:
    case K_JOURNAL:
    case K_WAL:
    case K_SHM: {
      struct stat real;
      int rc = h && h->fd >= 0 ? fstat(h->fd, &real) : stat(n->db->path[FILE_INDEX(n->kind)], &real);
      if (rc != 0) return errno;
      *st = real;
      st->st_mode = S_IFREG | (n->db->writable ? 0666 : 0444);
      if (n->kind == K_SHM) st->st_mode = S_IFREG | 0666; /* readers write read marks */
      break;
    }
    case K_POS:
      st->st_mode = S_IFREG | 0444;
      st->st_size = 34;
      set_time_ms(st, n->db->pos_mtime_ms);
      break;
    case K_LOCK:
      st->st_mode = S_IFREG | 0666;
      st->st_size = 0;
      break;
    case K_PRIMARY:
      if (!fs->primary) return ENOENT;
      st->st_mode = S_IFREG | 0444;
      st->st_size = (off_t)fs->primary_len;
      break;
    case K_LAG: {
      char buf[24];
      size_t len;
      format_lag(fs, buf, &len);
      st->st_mode = S_IFREG | 0444;
      st->st_size = (off_t)len;
      if (fs->lag_mode == 1) set_time_ms(st, fs->lag_value);
      break;
    }
    default:
      return ENOENT;
  }
  st->st_ino = n->ino;
  return 0;
}

static void process_name(pid_t pid, char *out, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  FILE *f = fopen(path, "r");
  out[0] = 0;
  if (f) {
    if (fgets(out, (int)size, f)) out[strcspn(out, "\n")] = 0;
    fclose(f);
  }
  if (!out[0]) snprintf(out, size, "?");
}

/* Logs a write refused on a replica, once per process and database. */
void db_log_replica_write(struct fs *fs, struct db *db, pid_t pid, const char *what) {
  for (int i = 0; i < 16; i++)
    if (db->logged_pids[i] == pid && pid != 0) return;
  db->logged_pids[db->logged_next] = pid;
  db->logged_next = (db->logged_next + 1) % 16;
  char comm[64];
  process_name(pid, comm, sizeof comm);
  fs_log(fs, 2, "write refused on replica: pid %d (%s) %s %s; it gets SQLITE_READONLY (\"attempt to write a readonly database\")",
         (int)pid, comm, what, db->name);
}
