// Runs the README's usage example against the build and a real etcd, and compares what it prints.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { etcdAvailable, etcdUnavailableReason, startEtcd, tempDir } from "@sqlrep/testkit";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const built = existsSync(dist);
const skip = !etcdAvailable() ? etcdUnavailableReason() : !built ? "needs a build, dist/index.js" : undefined;

describe.skipIf(skip !== undefined)(`README usage example${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const tmp = tempDir("sqlrep-lease-etcd-readme-");
  afterAll(() => tmp.remove());
  it("runs as written against the built package and a real etcd, and prints what the README says", async () => {
    const etcd = await startEtcd();
    try {
      const readme = readFileSync(join(packageDir, "README.md"), "utf8");
      const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
      const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(code).toBeDefined();
      expect(printed).toBeDefined();
      const file = tmp.join("example.mjs");
      writeFileSync(file, code!.replace('from "@sqlrep/lease-etcd"', `from ${JSON.stringify(pathToFileURL(dist).href)}`));
      const out = execFileSync(process.execPath, [file], { encoding: "utf8", env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoints.join(",") } });
      expect(out).toBe(printed);
    } finally {
      await etcd.stop();
    }
  }, 30_000);
});
