// Runs the README's usage example against the built package and compares what it prints.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const tmp = tempDir("sqlrep-runtime-readme-");
afterAll(() => tmp.remove());

describe.skipIf(!existsSync(dist))(`README usage example${existsSync(dist) ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package and prints what the README says", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    // Resolve the packages from this package, wherever the copy runs.
    const url = (path: string) => JSON.stringify(pathToFileURL(path).href);
    const promClient = createRequire(join(packageDir, "package.json")).resolve("prom-client");
    const script = code!.replace('from "@sqlrep/runtime"', `from ${url(dist)}`).replace('from "prom-client"', `from ${url(promClient)}`);
    const file = tmp.join("example.mjs");
    writeFileSync(file, script);
    expect(execFileSync(process.execPath, [file], { encoding: "utf8" })).toBe(printed);
  }, 30_000);
});
