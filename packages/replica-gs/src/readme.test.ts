import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const built = existsSync(dist);
const tmp = tempDir("sqlrep-replica-gs-readme-");
afterAll(() => tmp.remove());
const bucket = process.env["SQLREP_TEST_GCS_BUCKET"];
const credentials = process.env["GOOGLE_APPLICATION_CREDENTIALS"] ?? process.env["STORAGE_EMULATOR_HOST"];

/** The README's example, with the packages resolved from this package, as a file. */
function example(): { file: string; printed: string } {
  const readme = readFileSync(join(packageDir, "README.md"), "utf8");
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  const printed = /It prints \(without `REPLICA_URL`\):\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  expect(printed).toBeDefined();
  const module = (name: string) => JSON.stringify(pathToFileURL(join(packageDir, "node_modules", name, "dist", "index.js")).href);
  const file = tmp.join("example.mjs");
  writeFileSync(
    file,
    code!
      .replace('from "@sqlrep/replica-gs/backend"', `from ${JSON.stringify(pathToFileURL(join(dirname(dist), "backend.js")).href)}`)
      .replace('from "@sqlrep/replica"', `from ${module("@sqlrep/replica")}`)
      .replace('from "@sqlrep/ltx"', `from ${module("@sqlrep/ltx")}`),
  );
  return { file, printed: printed! };
}

const run = (file: string, env: Record<string, string | undefined>) =>
  promisify(execFile)(process.execPath, ["--no-warnings", file], { encoding: "utf8", env: { ...process.env, REPLICA_URL: undefined, ...env }, timeout: 60_000 });

describe.skipIf(!built)(`README usage example${built ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package and prints what the README says", async () => {
    const { file, printed } = example();
    expect((await run(file, {})).stdout).toBe(printed);
  }, 30_000);

  it.skipIf(!bucket || !credentials)(
    `writes, lists and deletes with REPLICA_URL${bucket && credentials ? "" : " (skipped: needs SQLREP_TEST_GCS_BUCKET and GOOGLE_APPLICATION_CREDENTIALS or STORAGE_EMULATOR_HOST)"}`,
    async () => {
      const { file } = example();
      const url = `gs://${bucket}/sqlrep-test/readme-${process.pid}/app.db`;
      expect((await run(file, { REPLICA_URL: url })).stdout).toBe(`gs replica at ${url}, snapshots under sqlrep-test/readme-${process.pid}/app.db/ltx/9/\nTXID 1-1: 2024-01-02T00:00:00.000Z\n`);
    },
    60_000,
  );
});
