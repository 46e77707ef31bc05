// Runs README.md's usage example against the built package and compares what it prints.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const built = existsSync(dist);
const tmp = tempDir("sqlrep-page-file-readme-");
afterAll(() => tmp.remove());

describe.skipIf(!built)(`README usage example${built ? "" : " (skipped: needs a build: dist/index.js)"}`, () => {
  it("runs as written and prints what the README says", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    const file = tmp.join("example.mjs");
    writeFileSync(file, code!.replace('from "@sqlrep/page-file"', `from ${JSON.stringify(pathToFileURL(dist).href)}`));
    expect(execFileSync(process.execPath, [file], { encoding: "utf8" })).toBe(printed);
  });
});
