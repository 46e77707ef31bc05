/** Unit tests of the gs backend: gs:// URLs, config specs, credential resolution, the GCS SDK loaded only on demand, a dead endpoint's retryable error. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isReplicaError, parseReplicaUrl, ReplicaRegistry } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { deadPort } from "@sqlrep/testkit";
import { gsBackend, parseGsUrl } from "./backend.js";
import { createGsReplicaClient } from "./replica.js";
import { resolveGsSettings } from "./settings.js";

const here = dirname(fileURLToPath(import.meta.url));

function failure(fn: () => unknown): { code?: string; key?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (!isReplicaError(err)) throw err;
    return err;
  }
  throw new Error("expected a ReplicaError");
}

describe("the gs backend", () => {
  it("reads gs://BUCKET/PATH as Litestream v0.5 does, and nothing else", () => {
    expect(parseGsUrl("gs://my-bucket/db/prod/")).toEqual({ type: "gs", url: "gs://my-bucket/db/prod/", bucket: "my-bucket", path: "db/prod" });
    expect(parseGsUrl("gs://b")).toMatchObject({ bucket: "b", path: "" });
    expect(parseReplicaUrl("gs://b/x", [gsBackend])).toMatchObject({ type: "gs", bucket: "b" });
    expect(() => parseReplicaUrl("gcs://b/x", [gsBackend])).toThrow(/gcs:\/\/ is not supported/);
    expect(new ReplicaRegistry([gsBackend]).parse("gs://b/x")).toMatchObject({ type: "gs", path: "x" });
    expect(failure(() => parseGsUrl("gs:///x")).message).toMatch(/has no bucket/);
    expect(failure(() => parseGsUrl("gs://b/x?project=p")).message).toMatch(/unknown query parameter "project"/);
    expect(failure(() => parseGsUrl("gs://u@b/x")).message).toMatch(/only a bucket and a path/);
  });

  it("completes a config's spec (a bucket is required) and tells buckets and paths apart", () => {
    expect(failure(() => gsBackend.finish!({ type: "gs", path: "x" }))).toMatchObject({ code: "invalid-config", key: "bucket" });
    expect(gsBackend.finish!({ type: "gs", bucket: "b", path: "/a//b/" })).toMatchObject({ path: "a/b" });
    expect(Object.keys(gsBackend.keys)).toEqual(["bucket"]);
    const at = (url: string) => gsBackend.location(gsBackend.finish!(parseGsUrl(url)));
    expect(at("gs://b/x")).toBe(at("gs://b/x/"));
    expect(at("gs://b/x")).not.toBe(at("gs://b/y"));
    expect(at("gs://b/x")).not.toBe(at("gs://c/x"));
  });

  it("resolves credentials: STORAGE_EMULATOR_HOST (unauthenticated), else GOOGLE_APPLICATION_CREDENTIALS, else ADC", () => {
    const spec = parseGsUrl("gs://b/db");
    expect(resolveGsSettings(spec, { STORAGE_EMULATOR_HOST: "127.0.0.1:4443", GOOGLE_APPLICATION_CREDENTIALS: "/k.json" })).toEqual({
      bucket: "b",
      prefix: "db",
      emulatorHost: "http://127.0.0.1:4443",
      keyFilename: undefined,
      credentialSource: "none (emulator)",
    });
    expect(resolveGsSettings(spec, { STORAGE_EMULATOR_HOST: "https://emu.local/" })).toMatchObject({ emulatorHost: "https://emu.local" });
    expect(resolveGsSettings(spec, { GOOGLE_APPLICATION_CREDENTIALS: "/k.json" })).toMatchObject({
      emulatorHost: undefined,
      keyFilename: "/k.json",
      credentialSource: "GOOGLE_APPLICATION_CREDENTIALS",
    });
    expect(resolveGsSettings(spec, {})).toMatchObject({ keyFilename: undefined, credentialSource: "application-default" });
  });

  it("does not import the GCS SDK until loaded: the static imports of backend.ts never reach it", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(here, file), "utf8");
      for (const [, from] of text.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)) {
        expect(from, `${file} imports ${from}`).not.toMatch(/@google-cloud|google-auth/);
        if (from!.startsWith("./")) visit(from!.slice(2).replace(/\.js$/, ".ts"));
      }
    };
    visit("backend.ts");
    expect([...seen].sort()).toEqual(["backend.ts", "spec.ts"]);
  });

  it("loads the client when asked, in Litestream's GCS layout", async () => {
    const client = (await gsBackend.load())(parseGsUrl("gs://b/db"), { env: { STORAGE_EMULATOR_HOST: "127.0.0.1:1" } });
    expect(client.type).toBe("gs");
    expect(client.location).toBe("gs://b/db");
    expect(client.layout.levelPrefix(9)).toBe("db/ltx/9/");
  });

  it("fails against a dead endpoint with a retryable ReplicaError naming the object", async () => {
    const port = await deadPort();
    const client = createGsReplicaClient(parseGsUrl("gs://b/db"), { env: { STORAGE_EMULATOR_HOST: `127.0.0.1:${port}` }, retryOptions: { maxRetries: 1, totalTimeout: 5 } });
    const ref = { level: 0, minTXID: 1, maxTXID: 1 };
    for (const op of [() => client.writeLtxFile(ref, ltxFile(1, 1)), () => client.statLtxFile(ref), () => client.readLtxRange(ref, 0, 10)]) {
      const error = await op().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toMatchObject({ name: "ReplicaError", code: "io", retryable: true, key: "db/ltx/0/0000000000000001-0000000000000001.ltx" });
      expect((error as Error).message).toContain("gs://b/db/ltx/0/0000000000000001-0000000000000001.ltx");
    }
  }, 30_000);
});
