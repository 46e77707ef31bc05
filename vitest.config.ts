import { existsSync, readdirSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// One root command runs every package's tests; each package folder is its own project.
// A folder with its own vitest.config.ts (fuse) is used as it is; every other one gets
// the defaults below (`extends: true`), named after its package.
const projects = ["packages", "apps"]
  .flatMap((parent) => readdirSync(parent).map((name) => `${parent}/${name}`))
  .filter((dir) => existsSync(`${dir}/package.json`))
  .map((dir) =>
    existsSync(`${dir}/vitest.config.ts`) ? dir : { extends: true, root: dir, test: { name: (JSON.parse(readFileSync(`${dir}/package.json`, "utf8")) as { name: string }).name } },
  );

export default defineConfig({
  test: {
    projects,
    // Two test files at a time on CI's two cores (vitest's default is cores - 1 = one):
    // most files wait on child processes, servers and I/O, so the second core is free
    // often enough; timed targets live in bench/, never in tests.
    maxWorkers: 2,
    minWorkers: 1,
    // Tests assert behaviour, never speed (bench/ measures that); one that starts real
    // processes or servers may take seconds more when CI's machine is busy, which
    // vitest's 5 s default turns into failures that say nothing about the code.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
