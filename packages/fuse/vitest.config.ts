import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@sqlrep/fuse",
    // mounts and child processes: one file at a time keeps the 2-core machine usable
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
