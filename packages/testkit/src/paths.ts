/** Where the repository and `../shared` (design, reference notes, golden files) are, so tests find golden files in place. */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The root of this repository (the folder holding `pnpm-workspace.yaml`). */
export const repoRoot: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/**
 * `../shared` beside the checkout: the design, the reference notes and the golden
 * files. Tests read golden files from here in place and never copy them.
 */
export const sharedDir: string = resolve(repoRoot, "..", "shared");

/** `../shared/testdata`, the golden files made by the reference implementations. */
export const sharedTestdataDir: string = resolve(sharedDir, "testdata");

/** Whether the golden files are present; tests that need them skip when they are not. */
export const hasSharedTestdata: boolean = existsSync(resolve(sharedTestdataDir, "ltx"));

/** The reason printed by a test that skips because `../shared` is absent. */
export const noSharedTestdataReason = `golden files not found at ${sharedTestdataDir} (../shared is absent)`;

/** Absolute path of a golden file, e.g. `sharedTestdata("ltx", "generated", "v1", "manifest.json")`. */
export function sharedTestdata(...parts: string[]): string {
  return resolve(sharedTestdataDir, ...parts);
}

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(resolve(dir, "pnpm-workspace.yaml"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${start}`);
    dir = parent;
  }
}
