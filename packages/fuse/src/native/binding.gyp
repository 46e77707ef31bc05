# The sqlrep FUSE addon: libfuse 2's low-level API, built with node-gyp against the
# running Node's own headers (scripts/build-native.mjs passes --nodedir).
{
  "targets": [
    {
      "target_name": "sqlrep_fuse",
      "sources": ["addon.c", "events.c", "invalidate.c", "js_calls.c", "napi_args.c", "ops.c", "ops_nodes.c", "ops_commit.c", "ops_files.c", "ops_dirs.c", "ops_locks.c", "tree.c", "locks.c", "capture.c", "apply.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-D_FILE_OFFSET_BITS=64"],
      "libraries": ["-lfuse", "-lpthread"]
    }
  ]
}
