import { defineConfig } from "vitest/config";

// One root command runs every package's tests; each package folder is its own project.
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*"],
    // Two test files at a time on CI's two cores (vitest's default is cores - 1 = one):
    // most files wait on child processes, servers and I/O, so the second core is free
    // often enough; timed targets live in bench/, never in tests.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
