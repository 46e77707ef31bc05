/* N-API module entry: the exports, and mounting and unmounting (the FUSE loop thread;
 * on unmount, failing what still waits on JavaScript and cutting off open files). */
#include "fs.h"
#include "napi_args.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static void *loop_main(void *arg) {
  struct fs *fs = arg;
  fuse_session_loop_mt(fs->se);
  return NULL;
}

/* mount(mountpoint, { statfsPath, entryTimeout, attrTimeout, debug, options }, onEvent) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *mountpoint = get_string(env, argv[0]);
  if (!mountpoint) {
    napi_throw_type_error(env, NULL, "sqlrep fuse: mountpoint must be a string");
    return NULL;
  }
  struct fs *fs = calloc(1, sizeof *fs);
  pthread_mutex_init(&fs->mu, NULL);
  fs->mountpoint = mountpoint;
  fs->statfs_path = get_string_prop(env, argv[1], "statfsPath");
  if (!fs->statfs_path) fs->statfs_path = strdup("/");
  fs->entry_timeout = get_number(env, argv[1], "entryTimeout", 1.0);
  fs->attr_timeout = get_number(env, argv[1], "attrTimeout", 1.0);
  fs->debug = get_number(env, argv[1], "debug", 0) != 0;
  fs->uid = getuid();
  fs->gid = getgid();
  char *extra = get_string_prop(env, argv[1], "options");

  dir_create(fs, NULL, ""); /* the root: inode 1 */
  fs->primary_node.kind = K_PRIMARY;
  node_register(fs, &fs->primary_node);
  fs->lag_node.kind = K_LAG;
  node_register(fs, &fs->lag_node);
  fs->lag_value = 2147483647;

  napi_value name;
  CHECK(napi_create_string_utf8(env, "sqlrep-fuse", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, fs, call_js, &fs->tsfn));
  CHECK(napi_async_init(env, NULL, name, &fs->async_context));

  char opts[1024];
  snprintf(opts, sizeof opts, "fsname=sqlrep,subtype=sqlrep,allow_other,max_read=131072,big_writes%s%s", extra && *extra ? "," : "",
           extra ? extra : "");
  free(extra);
  char *args_v[] = {"sqlrep", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, args_v);
  fs->ch = fuse_mount(fs->mountpoint, &args);
  if (!fs->ch) {
    napi_release_threadsafe_function(fs->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "EMOUNT", "sqlrep fuse: mount failed (is /dev/fuse there, is the directory empty and not mounted?)");
    return NULL;
  }
  if (fs->debug) fprintf(stderr, "[sqlrep-fuse] mounted %s with %s\n", fs->mountpoint, opts);
  /* fuse_mount took the mount options out of args; the rest are libfuse's */
  fs->se = fuse_lowlevel_new(&args, &sqlrep_ops, sizeof sqlrep_ops, fs);
  if (!fs->se) {
    fuse_unmount(fs->mountpoint, fs->ch);
    fuse_opt_free_args(&args);
    napi_release_threadsafe_function(fs->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "EMOUNT", "sqlrep fuse: fuse_lowlevel_new failed (an unknown -o option?)");
    return NULL;
  }
  fuse_opt_free_args(&args);
  fuse_session_add_chan(fs->se, fs->ch);
  /* FUSE threads take no signals: Node handles them on its own threads */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int rc = pthread_create(&fs->thread, NULL, loop_main, fs);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    napi_throw_error(env, "EMOUNT", "sqlrep fuse: cannot start the FUSE thread");
    return NULL;
  }
  fs->loop_started = 1;
  pthread_mutex_init(&fs->inval_mu, NULL);
  pthread_cond_init(&fs->inval_cond, NULL);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_create(&fs->inval_thread, NULL, inval_main, fs);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  napi_value out;
  CHECK(napi_create_external(env, fs, NULL, NULL, &out));
  return out;
}

struct unmount_work {
  struct fs *fs;
  napi_deferred deferred;
  napi_async_work work;
  int timed_out;
};

/* Every request still waiting on JavaScript gets an error: nobody will answer it. */
static void fail_all_pending(struct fs *fs) {
  pthread_mutex_lock(&fs->mu);
  struct pending *p = fs->pending;
  fs->pending = NULL;
  for (int i = 0; i < fs->ndbs; i++) {
    struct db *db = fs->dbs[i];
    if (!db) continue;
    for (int k = 0; k < DB_FILES; k++) lk_free_all(&db->locks[k]);
    while (db->halt_waiters) {
      struct waiter *w = db->halt_waiters;
      db->halt_waiters = w->next;
      fuse_reply_err(w->req, EINTR);
      free(w);
    }
  }
  pthread_mutex_unlock(&fs->mu);
  while (p) {
    struct pending *next = p->next;
    if (p->kind == P_CREATE || p->kind == P_UNLINK_DB || p->kind == P_HALT || p->kind == P_SYNC)
      fuse_reply_err(p->req, EIO);
    else
      finish_pending(fs, p, EIO);
    p = next;
  }
}

static void abort_connection(struct fs *fs, dev_t dev) {
  char path[128];
  snprintf(path, sizeof path, "/sys/fs/fuse/connections/%u/abort", minor(dev));
  int fd = open(path, O_WRONLY);
  if (fd >= 0) {
    if (write(fd, "1", 1) < 0) fs_log(fs, 2, "cannot abort the FUSE connection %s", path);
    close(fd);
  }
}

static void unmount_execute(napi_env env, void *data) {
  (void)env;
  struct unmount_work *w = data;
  struct fs *fs = w->fs;
  struct stat st;
  int have_dev = stat(fs->mountpoint, &st) == 0;
  fuse_session_exit(fs->se);
  fail_all_pending(fs);
  pthread_mutex_lock(&fs->inval_mu);
  fs->inval_stop = 1;
  pthread_cond_signal(&fs->inval_cond);
  pthread_mutex_unlock(&fs->inval_mu);
  pthread_join(fs->inval_thread, NULL);
  fuse_unmount(fs->mountpoint, NULL); /* lazy: open files keep working until closed */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  if (pthread_timedjoin_np(fs->thread, NULL, &deadline) != 0) {
    /* files still open through the mount: cut them off */
    w->timed_out = 1;
    if (have_dev) abort_connection(fs, st.st_dev);
    pthread_join(fs->thread, NULL);
  }
  fuse_session_destroy(fs->se);
}

static void unmount_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  struct unmount_work *w = data;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_release_threadsafe_function(w->fs->tsfn, napi_tsfn_release);
  napi_resolve_deferred(env, w->deferred, undefined);
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value js_unmount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct fs *fs = get_fs(env, argv[0]);
  if (!fs) return NULL;
  if (fs->unmounted) {
    napi_throw_error(env, NULL, "sqlrep fuse: already unmounted");
    return NULL;
  }
  fs->unmounted = 1;
  struct unmount_work *w = calloc(1, sizeof *w);
  w->fs = fs;
  CHECK(napi_create_promise(env, &w->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "sqlrep-unmount", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, unmount_execute, unmount_complete, w, &w->work));
  CHECK(napi_queue_async_work(env, w->work));
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
      {"unmount", NULL, js_unmount, NULL, NULL, NULL, napi_default, NULL},
      {"addDatabase", NULL, js_add_database, NULL, NULL, NULL, napi_default, NULL},
      {"removeDatabase", NULL, js_remove_database, NULL, NULL, NULL, napi_default, NULL},
      {"updateDatabase", NULL, js_update_database, NULL, NULL, NULL, napi_default, NULL},
      {"setPrimary", NULL, js_set_primary, NULL, NULL, NULL, napi_default, NULL},
      {"setLag", NULL, js_set_lag, NULL, NULL, NULL, napi_default, NULL},
      {"complete", NULL, js_complete, NULL, NULL, NULL, napi_default, NULL},
      {"interrupt", NULL, js_interrupt, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"apply", NULL, js_apply, NULL, NULL, NULL, napi_default, NULL},
      {"lockDatabase", NULL, js_lock_database, NULL, NULL, NULL, napi_default, NULL},
      {"unlockDatabase", NULL, js_unlock_database, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
