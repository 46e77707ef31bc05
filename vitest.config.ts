import { defineConfig } from "vitest/config";

// One root command runs every package's tests; each package folder is its own project.
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*"],
  },
});
