// Runs the README's usage example against the build and the testkit's Consul DOUBLE (not Consul).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { startConsulDouble, tempDir } from "@sqlrep/testkit";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const built = existsSync(dist);

describe.skipIf(!built)(`README usage example, on the Consul double${built ? "" : " (skipped: needs a build, dist/index.js)"}`, () => {
  const tmp = tempDir("sqlrep-lease-consul-readme-");
  afterAll(() => tmp.remove());
  it("runs as written against the built package and prints what the README says", async () => {
    const double = await startConsulDouble();
    try {
      const readme = readFileSync(join(packageDir, "README.md"), "utf8");
      const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
      const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(code).toBeDefined();
      expect(printed).toBeDefined();
      const file = tmp.join("example.mjs");
      writeFileSync(file, code!.replace('from "@sqlrep/lease-consul"', `from ${JSON.stringify(pathToFileURL(dist).href)}`));
      // Asynchronously: the double answers from this process's event loop.
      const { stdout } = await promisify(execFile)(process.execPath, [file], { encoding: "utf8", env: { ...process.env, CONSUL_URL: double.url } });
      expect(stdout).toBe(printed);
    } finally {
      await double.close();
    }
  }, 30_000);
});
