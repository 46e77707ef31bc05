import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const tmp = tempDir("sqlrep-backup-readme-");
afterAll(() => tmp.remove());

describe.skipIf(!existsSync(dist))(`README usage example${existsSync(dist) ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Resolve the packages from this package, wherever the copy runs.
    const url = (path: string) => JSON.stringify(pathToFileURL(path).href);
    const script = (code as string)
      .replace('from "@sqlrep/backup"', `from ${url(dist)}`)
      .replace('from "@sqlrep/replica"', `from ${url(join(packageDir, "node_modules", "@sqlrep", "replica", "dist", "index.js"))}`)
      .replace('from "better-sqlite3"', `from ${url(join(packageDir, "node_modules", "better-sqlite3", "lib", "index.js"))}`);
    const file = tmp.join("example.mjs");
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, [file], { encoding: "utf8" });
    expect(out).toMatch(/TXID 1 uploaded \(\d+ bytes, level 9\)/);
    expect(out).toMatch(/TXID 2 uploaded \(\d+ bytes, level 0\)/);
    expect(out).toMatch(/replica at TXID 2, lag 0 ms/);
    expect(out).toMatch(/litestream_replica_txid\{db="[^"]+",name="local"\} 2/);
    expect(out).toMatch(/restored TXID 2, checksum verified: true/);
  }, 30_000);
});
