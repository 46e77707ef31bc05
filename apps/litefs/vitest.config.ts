import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@sqlrep/litefs",
    // daemons with FUSE mounts as child processes: one file at a time on the 2-core machine
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
