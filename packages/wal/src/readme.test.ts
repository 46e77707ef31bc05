import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const tmp = tempDir("sqlrep-wal-readme-");
afterAll(() => tmp.remove());

describe.skipIf(!existsSync(dist))(`README usage example${existsSync(dist) ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Resolve the package and its devDependency from this package, wherever the copy runs.
    const script = (code as string)
      .replace('from "@sqlrep/wal"', `from ${JSON.stringify(pathToFileURL(dist).href)}`)
      .replace('from "better-sqlite3"', `from ${JSON.stringify(pathToFileURL(join(packageDir, "node_modules", "better-sqlite3", "lib", "index.js")).href)}`);
    const file = tmp.join("example.mjs");
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, [file], { encoding: "utf8" }).trim().split("\n");
    // First pass: the CREATE TABLE and the INSERT; second pass: only the UPDATE.
    const ends = out.map((line) => Number(/tx ending at (\d+)/.exec(line)?.[1]));
    expect(ends.every((n) => n > 32)).toBe(true);
    const last = ends.at(-1) as number;
    expect(out.filter((line) => line.includes(`tx ending at ${last}:`)).length).toBeGreaterThan(0);
    expect(new Set(ends).size).toBe(3);
  });
});
