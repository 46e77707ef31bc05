// Runs the README's usage example as written, against the built package, on a real
// mount (root and /dev/fuse), and checks it prints what the README says.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fuseUnavailableReason, tempDir } from "@sqlrep/testkit";
import { hasSqlite3Shell } from "./testing/harness.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const skip = !existsSync(dist)
  ? "needs a build (dist/index.js)"
  : (fuseUnavailableReason() ?? (hasSqlite3Shell ? undefined : "the sqlite3 shell is not installed"));
const tmp = tempDir("sqlrep-fuse-readme-");
afterAll(() => tmp.remove());

describe.skipIf(skip)(`README usage example${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("runs as written against the built package and prints what the README says", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    const file = tmp.join("example.mjs");
    writeFileSync(file, code!.replace('from "@sqlrep/fuse"', `from ${JSON.stringify(pathToFileURL(dist).href)}`));
    expect(execFileSync(process.execPath, [file], { encoding: "utf8", timeout: 30_000 })).toBe(printed);
  });
});
