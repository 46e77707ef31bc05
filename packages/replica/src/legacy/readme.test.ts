/** Runs the README's v0.3 (legacy) example against the built package on a hand-made replica, as a user would. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "@sqlrep/testkit";
import { FileObjectStore } from "../file-store.js";
import { LegacyReplicaBuilder } from "../testing/legacy-builder.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dist = join(packageDir, "dist", "index.js");
const built = existsSync(dist);
const tmp = tempDir("sqlrep-legacy-readme-");
afterAll(() => tmp.remove());

const at = (s: number): Date => new Date(Date.UTC(2025, 0, 1) + s * 1000);

describe.skipIf(!built)(`README legacy example${built ? "" : " (skipped: needs a build, dist/index.js)"}`, () => {
  it("runs as written against the built package and prints what the README says", async () => {
    const replica = tmp.join("replica");
    const b = new LegacyReplicaBuilder(new FileObjectStore(replica), { pageSize: 1024 });
    b.startGeneration("aaaaaaaaaaaaaaaa");
    await b.snapshot(at(1));
    b.commit([1, 2]);
    await b.sync(at(2));
    b.commit([2]);
    await b.sync(at(3));
    b.checkpoint();
    await b.snapshot(at(4));
    b.commit([3]);
    await b.sync(at(5));
    b.startGeneration("bbbbbbbbbbbbbbbb");
    await b.snapshot(at(10));
    b.commit([1, 4]);
    await b.sync(at(11));
    const k = b.commit([2]);
    await b.sync(at(12));

    const readme = readFileSync(join(packageDir, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Legacy"));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    const printed = /it prints:\n\n```\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    expect(printed).toBeDefined();
    const file = tmp.join("example.mjs");
    writeFileSync(file, code!.replace('from "@sqlrep/replica"', `from ${JSON.stringify(pathToFileURL(dist).href)}`));
    const output = tmp.join("restored.db");
    expect(execFileSync(process.execPath, [file, replica, output], { encoding: "utf8" })).toBe(printed);
    expect(new Uint8Array(readFileSync(output))).toEqual(b.state(k));
  });
});
