import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { startAzurite, tempDir } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { parseAbsUrl } from "./backend.js";
import { createBlobServiceClient } from "./replica.js";
import { resolveAbsSettings } from "./settings.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist", "index.js");
const built = existsSync(dist);
const azurite = await startAzurite();
const tmp = tempDir("sqlrep-replica-abs-readme-");
afterAll(async () => {
  tmp.remove();
  await azurite.stop();
}, 30_000);

describe.skipIf(!built)(`README usage example${built ? "" : " — needs a build (dist/index.js)"}`, () => {
  it("runs as written against the built package and Azurite, and prints what the README says", async () => {
    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    const module = (name: string) => JSON.stringify(pathToFileURL(join(packageDir, "node_modules", name, "dist", "index.js")).href);
    const script = code!
      .replace('from "@sqlrep/replica-abs/backend"', `from ${JSON.stringify(pathToFileURL(join(dirname(dist), "backend.js")).href)}`)
      .replace('from "@sqlrep/replica"', `from ${module("@sqlrep/replica")}`)
      .replace('from "@sqlrep/ltx"', `from ${module("@sqlrep/ltx")}`);
    const file = tmp.join("example.mjs");
    writeFileSync(file, script);
    const env = { LITESTREAM_AZURE_ACCOUNT_KEY: azurite.accountKey };
    const url = azurite.url("readme", "app.db");
    await createBlobServiceClient(resolveAbsSettings(parseAbsUrl(url), env)).getContainerClient("readme").createIfNotExists();
    const { stdout } = await promisify(execFile)(process.execPath, ["--no-warnings", file], { encoding: "utf8", env: { ...process.env, ...env, REPLICA_URL: url }, timeout: 20_000 });
    expect(stdout).toBe(printed);
  }, 30_000);
});
