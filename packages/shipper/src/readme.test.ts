// Runs the README's usage example against the built package, as a user would.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const tmp = tempDir("sqlrep-shipper-readme-");
afterAll(() => tmp.remove());

describe.skipIf(!existsSync(dist))(`README usage example${existsSync(dist) ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const url = (path: string) => JSON.stringify(pathToFileURL(path).href);
    const dep = (name: string) => url(join(packageDir, "node_modules", "@sqlrep", name, "dist", "index.js"));
    const script = (code as string)
      .replace('from "@sqlrep/shipper"', `from ${url(dist)}`)
      .replace('from "@sqlrep/replica"', `from ${dep("replica")}`)
      .replace('from "@sqlrep/ltx"', `from ${dep("ltx")}`);
    const file = tmp.join("example.mjs");
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, [file], { encoding: "utf8" });
    expect(out).toMatch(/^2 0$/m);
    expect(out).toMatch(/restored TXID 2, checksum verified: true/);
  }, 30_000);
});
