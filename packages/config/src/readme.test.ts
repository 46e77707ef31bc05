import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const tmp = tempDir("sqlrep-config-readme-");
afterAll(() => tmp.remove());

describe.skipIf(!existsSync(dist))(`README usage example${existsSync(dist) ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package and prints what its comments say", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const file = tmp.join("example.mjs");
    writeFileSync(file, code!.replace('from "@sqlrep/config"', `from ${JSON.stringify(pathToFileURL(dist).href)}`));
    const out = execFileSync(process.execPath, [file], { encoding: "utf8" }).trim().split("\n");
    const promised = [...code!.matchAll(/\/\/ (.+)$/gm)].map((m) => m[1]!.trim());
    expect(out).toEqual(promised);
  });
});
