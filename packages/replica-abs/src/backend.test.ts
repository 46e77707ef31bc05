/** Unit tests of the abs backend: Litestream's abs:// URLs and config keys, credential order (SAS, then shared key), and the Azure SDK loaded only on demand. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isReplicaError, parseReplicaUrl, ReplicaRegistry, type ReplicaSpec } from "@sqlrep/replica";
import { absBackend, parseAbsUrl } from "./backend.js";
import { resolveAbsSettings } from "./settings.js";

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

describe("the abs backend", () => {
  it("reads abs://ACCOUNT@CONTAINER/PATH as Litestream does, plus ?endpoint=", () => {
    expect(parseAbsUrl("abs://myaccount@mycontainer/db/prod/")).toEqual({
      type: "abs",
      url: "abs://myaccount@mycontainer/db/prod/",
      accountName: "myaccount",
      bucket: "mycontainer",
      path: "db/prod",
    });
    expect(parseAbsUrl("abs://c")).toMatchObject({ bucket: "c", path: "" });
    expect(parseAbsUrl("abs://acct@c/x?endpoint=http://127.0.0.1:10000/acct")).toMatchObject({ endpoint: "http://127.0.0.1:10000/acct" });
    expect(parseReplicaUrl("abs://a@c/x", [absBackend])).toMatchObject({ type: "abs", bucket: "c" });
    expect(new ReplicaRegistry([absBackend]).parse("abs://a@c/x")).toMatchObject({ type: "abs", accountName: "a" });
  });

  it("names what is wrong with a URL", () => {
    expect(failure(() => parseAbsUrl("abs:///x")).message).toMatch(/has no container/);
    expect(failure(() => parseAbsUrl("abs://a:secret@c/x")).message).toMatch(/carries a secret .*account-key or \$LITESTREAM_AZURE_ACCOUNT_KEY/);
    expect(failure(() => parseAbsUrl("abs://a@c/x?region=eu")).message).toMatch(/unknown query parameter "region" .*known: endpoint/);
  });

  it("completes a config's spec: a container is required, and an account unless an endpoint is given", () => {
    expect(failure(() => absBackend.finish!({ type: "abs", accountName: "a" }))).toMatchObject({ code: "invalid-config", key: "bucket" });
    expect(failure(() => absBackend.finish!({ type: "abs", bucket: "c" }))).toMatchObject({ code: "invalid-config", key: "account-name" });
    expect(absBackend.finish!({ type: "abs", bucket: "c", accountName: "a", path: "/a//b/" })).toMatchObject({ path: "a/b" });
    expect(absBackend.finish!({ type: "abs", bucket: "c", endpoint: "http://127.0.0.1:1/dev" })).toMatchObject({ path: "" });
  });

  it("declares Litestream's ABS keys, and a location that tells accounts, endpoints, containers and paths apart", () => {
    expect(Object.keys(absBackend.keys).sort()).toEqual(["account-key", "account-name", "bucket", "endpoint", "sas-token"]);
    expect(absBackend.keys.bucket).toMatchObject({ kind: "string", inUrl: true, global: true });
    const at = (url: string) => absBackend.location(absBackend.finish!(parseAbsUrl(url)));
    expect(at("abs://a@c/x")).toBe(at("abs://a@c/x/"));
    expect(at("abs://a@c/x")).toBe(absBackend.location({ type: "abs", accountName: "a", bucket: "c", path: "x" }));
    for (const other of ["abs://a@c/y", "abs://a@d/x", "abs://b@c/x", "abs://a@c/x?endpoint=http://127.0.0.1:1/a"]) expect(at(other)).not.toBe(at("abs://a@c/x"));
  });

  it("takes credentials as Litestream does: SAS (spec, then env) before the shared key (spec, then env)", () => {
    const spec: ReplicaSpec = parseAbsUrl("abs://acct@c/db");
    expect(resolveAbsSettings({ ...spec, accountKey: "k1" }, { LITESTREAM_AZURE_ACCOUNT_KEY: "k2" })).toMatchObject({
      serviceUrl: "https://acct.blob.core.windows.net",
      container: "c",
      prefix: "db",
      credential: { kind: "shared-key", accountName: "acct", accountKey: "k1" },
      credentialSource: "spec",
    });
    expect(resolveAbsSettings(spec, { LITESTREAM_AZURE_ACCOUNT_KEY: "k2" })).toMatchObject({ credential: { accountKey: "k2" }, credentialSource: "LITESTREAM_AZURE_ACCOUNT_KEY" });
    expect(resolveAbsSettings({ ...spec, accountKey: "k1" }, { LITESTREAM_AZURE_SAS_TOKEN: "?sv=1&sig=x" })).toMatchObject({
      credential: { kind: "sas", token: "sv=1&sig=x" },
      credentialSource: "LITESTREAM_AZURE_SAS_TOKEN",
    });
    expect(resolveAbsSettings({ ...spec, sasToken: "sv=2" }, { LITESTREAM_AZURE_SAS_TOKEN: "sv=1" })).toMatchObject({ credential: { token: "sv=2" }, credentialSource: "spec" });
    const none = failure(() => resolveAbsSettings(spec, {}));
    expect(none).toMatchObject({ code: "invalid-config", key: "account-key" });
    expect(none.message).toMatch(/account-key or sas-token, or \$LITESTREAM_AZURE_ACCOUNT_KEY or \$LITESTREAM_AZURE_SAS_TOKEN/);
    expect(failure(() => resolveAbsSettings({ type: "abs", bucket: "c", endpoint: "http://h/x" }, { LITESTREAM_AZURE_ACCOUNT_KEY: "k" }))).toMatchObject({ key: "account-name" });
    expect(resolveAbsSettings({ type: "abs", bucket: "c", endpoint: "http://h/x/" }, { LITESTREAM_AZURE_SAS_TOKEN: "s" })).toMatchObject({ serviceUrl: "http://h/x" });
  });

  it("does not import the Azure SDK until loaded: the static imports of backend.ts never reach it", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(here, file), "utf8");
      for (const [, from] of text.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)) {
        expect(from, `${file} imports ${from}`).not.toMatch(/@azure/);
        if (from!.startsWith("./")) visit(from!.slice(2).replace(/\.js$/, ".ts"));
      }
    };
    visit("backend.ts");
    expect([...seen].sort()).toEqual(["backend.ts", "spec.ts"]);
  });

  it("loads the client when asked", async () => {
    const factory = await absBackend.load();
    const client = factory(parseAbsUrl("abs://acct@c/db?endpoint=http://127.0.0.1:1/acct"), { env: { LITESTREAM_AZURE_ACCOUNT_KEY: "a2V5" } });
    expect(client.type).toBe("abs");
    expect(client.location).toBe("abs://acct@c/db");
    expect(client.layout.levelPrefix(9)).toBe("db/ltx/9/");
  });
});
