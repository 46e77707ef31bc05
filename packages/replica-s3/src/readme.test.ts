import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { startS3Server, tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const built = existsSync(dist);
const s3 = await startS3Server();
const tmp = tempDir("sqlrep-replica-s3-readme-");
afterAll(async () => {
  tmp.remove();
  await s3.stop();
}, 30_000);

describe.skipIf(!built)(`README usage example${built ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package and an S3 server", async () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Resolve the packages from this package's node_modules, wherever the copy runs.
    const module = (name: string) => JSON.stringify(pathToFileURL(join(packageDir, "node_modules", name, "dist", "index.js")).href);
    const script = code!
      .replace('from "@sqlrep/replica-s3/backend"', `from ${JSON.stringify(pathToFileURL(join(dirname(dist), "backend.js")).href)}`)
      .replace('from "@sqlrep/replica-s3"', `from ${JSON.stringify(pathToFileURL(dist).href)}`)
      .replace('from "@sqlrep/replica"', `from ${module("@sqlrep/replica")}`)
      .replace('from "@sqlrep/ltx"', `from ${module("@sqlrep/ltx")}`);
    const file = tmp.join("example.mjs");
    writeFileSync(file, script);
    // Asynchronously: the S3 server answers from this process's event loop.
    const { stdout: out } = await promisify(execFile)(process.execPath, ["--no-warnings", file], {
      encoding: "utf8",
      env: { ...process.env, REPLICA_URL: s3.url("readme/app.db"), LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey },
      timeout: 20_000,
    });
    expect(out).toMatch(/^level 9, TXID 1-1: \d+ bytes, \d{4}-\d\d-\d\dT[\d:.]+Z\nmagic LTX1\n/);
    expect(out).toMatch(/PUT: \{ count: 1, bytes: \d+ \}/);
    expect(out).toMatch(/GET: \{ count: 1, bytes: 4 \}/);
    expect(out).toMatch(/DELETE: \{ count: 1, bytes: 0 \}/);
  }, 30_000);
});
