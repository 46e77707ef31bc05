/* The event channel from the FUSE threads to JavaScript (a thread-safe function, its
 * answers come back through complete()), and the tokens and counters requests carry. */
#include "fs.h"
#include "napi_args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void stat_inc(struct fs *fs, int which) {
  __atomic_fetch_add(&fs->stats[which], 1, __ATOMIC_RELAXED);
}

uint64_t fs_token(struct fs *fs) {
  return ++fs->next_token;
}

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct pending *pending_new(struct fs *fs, int kind, fuse_req_t req, struct db *db) {
  struct pending *p = calloc(1, sizeof *p);
  p->started_ns = now_ns();
  p->token = fs_token(fs);
  p->kind = kind;
  p->req = req;
  p->db = db;
  p->next = fs->pending;
  fs->pending = p;
  return p;
}

static void event_free(struct event *ev) {
  if (ev->tx) txinfo_free(ev->tx, ev->ntx);
  free(ev->str);
  free(ev);
}

void fs_post(struct fs *fs, struct event *ev) {
  if (fs->unmounted || napi_call_threadsafe_function(fs->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) event_free(ev);
}

void fs_log(struct fs *fs, int level, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (fs->debug) fprintf(stderr, "[sqlrep-fuse] %s\n", buf);
  struct event *ev = calloc(1, sizeof *ev);
  ev->type = E_LOG;
  ev->level = level;
  ev->str = strdup(buf);
  fs_post(fs, ev);
}

static void free_external(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value tx_object(napi_env env, struct txinfo *tx) {
  static const char *const modes[] = {"", "wal", "rollback", "raw"};
  napi_value obj, ab, pgnos, data, boolean;
  napi_create_object(env, &obj);
  /* the page set goes to JavaScript as is: one allocation, no copy */
  napi_create_external_arraybuffer(env, tx->buf, tx->buflen, free_external, NULL, &ab);
  tx->buf = NULL;
  napi_create_typedarray(env, napi_uint32_array, tx->npages, ab, 0, &pgnos);
  napi_create_typedarray(env, napi_uint8_array, (size_t)tx->npages * tx->page_size, ab, (size_t)tx->npages * 4, &data);
  set(env, obj, "pageSize", num(env, tx->page_size));
  set(env, obj, "commit", num(env, tx->commit));
  set(env, obj, "pgnos", pgnos);
  set(env, obj, "data", data);
  set(env, obj, "mode", str(env, modes[tx->mode]));
  set(env, obj, "walOffset", num(env, (double)tx->wal_off));
  set(env, obj, "walSize", num(env, (double)tx->wal_size));
  set(env, obj, "walSalt1", num(env, tx->salt1));
  set(env, obj, "walSalt2", num(env, tx->salt2));
  napi_get_boolean(env, tx->durable, &boolean);
  set(env, obj, "durable", boolean);
  set(env, obj, "pid", num(env, tx->pid));
  return obj;
}

void call_js(napi_env env, napi_value cb, void *context, void *data) {
  struct event *ev = data;
  if (!env) {
    event_free(ev);
    return;
  }
  static const char *const types[] = {"", "commit", "create", "drop", "halt", "unhalt", "interrupt", "log", "sync"};
  napi_value obj, global;
  napi_create_object(env, &obj);
  set(env, obj, "type", str(env, types[ev->type]));
  set(env, obj, "token", num(env, (double)ev->token));
  set(env, obj, "db", num(env, ev->db));
  set(env, obj, "pid", num(env, ev->pid));
  if (ev->str) set(env, obj, ev->type == E_LOG ? "message" : "name", str(env, ev->str));
  if (ev->type == E_LOG) set(env, obj, "level", num(env, ev->level));
  if (ev->type == E_COMMIT) {
    napi_value list;
    napi_create_array_with_length(env, (size_t)ev->ntx, &list);
    for (int i = 0; i < ev->ntx; i++) napi_set_element(env, list, (uint32_t)i, tx_object(env, &ev->tx[i]));
    set(env, obj, "transactions", list);
  }
  event_free(ev);
  napi_get_global(env, &global);
  /* make_callback, not call_function: it drains the microtask queue afterwards, so
   * the backend's promise chain runs now rather than at the next unrelated event */
  struct fs *fs = context;
  napi_make_callback(env, fs->async_context, global, cb, 1, &obj, NULL);
}
