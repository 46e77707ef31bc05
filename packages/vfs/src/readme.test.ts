// Runs the README's usage example against the build and checks what it prints.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = {
  "@sqlrep/vfs": join(packageDir, "dist", "index.js"),
  "@sqlrep/ltx": join(packageDir, "node_modules", "@sqlrep", "ltx", "dist", "index.js"),
  "@sqlrep/replica": join(packageDir, "node_modules", "@sqlrep", "replica", "dist", "index.js"),
};
const built = Object.values(modules).every((p) => existsSync(p));
const tmp = tempDir("sqlrep-vfs-readme-");
afterAll(() => tmp.remove());

describe.skipIf(!built)(`README usage example${built ? "" : " (skipped: needs a build of @sqlrep/vfs and its dependencies)"}`, () => {
  it("runs as written and prints what the README says", () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    let code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    for (const [name, path] of Object.entries(modules)) code = code!.replace(`from "${name}"`, `from ${JSON.stringify(pathToFileURL(path).href)}`);
    const file = tmp.join("example.mjs");
    writeFileSync(file, code!);
    expect(execFileSync(process.execPath, [file], { encoding: "utf8" })).toBe(printed);
  });
});
