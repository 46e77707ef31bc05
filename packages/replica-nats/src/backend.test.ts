// The nats backend entry: URL forms, Litestream's NATS keys and defaults, a config's spec
// completed or refused naming the key — without loading the NATS client.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isReplicaError, parseReplicaUrl, ReplicaRegistry, type ReplicaError } from "@sqlrep/replica";
import { natsBackend, parseNatsUrl } from "./backend.js";
import { resolveNatsSettings } from "./settings.js";

const here = dirname(fileURLToPath(import.meta.url));

function finishError(spec: Record<string, unknown>): ReplicaError {
  try {
    natsBackend.finish!({ type: "nats", ...spec });
  } catch (err) {
    expect(isReplicaError(err, "invalid-config")).toBe(true);
    return err as ReplicaError;
  }
  return expect.unreachable("expected invalid-config");
}

describe("the nats backend", () => {
  it("reads nats://HOST:PORT/BUCKET[/PREFIX], with user:password or a token in the URL", () => {
    expect(parseNatsUrl("nats://nats.example:4222/backups")).toEqual({
      type: "nats",
      url: "nats://nats.example:4222/backups",
      server: "nats.example:4222",
      bucket: "backups",
      path: "",
    });
    expect(parseNatsUrl("nats://u:p%40ss@h/b/tenants//acme/")).toMatchObject({ username: "u", password: "p@ss", bucket: "b", path: "tenants/acme" });
    expect(parseNatsUrl("nats://s3cr3t@h/b")).toMatchObject({ token: "s3cr3t", bucket: "b" });
    expect(parseNatsUrl("nats:///b")).not.toHaveProperty("server");
    expect(() => parseNatsUrl("nats://h/b?tls=true")).toThrow(/unknown query parameter "tls"/);
    expect(parseReplicaUrl("nats://h/b", [natsBackend])).toMatchObject({ type: "nats", bucket: "b" });
    expect(new ReplicaRegistry([natsBackend]).parse("nats://h:1/b")).toMatchObject({ server: "h:1" });
  });

  it("completes a config's spec: a valid bucket, cert and key together, a seed with a jwt", () => {
    expect(finishError({}).key).toBe("bucket");
    expect(finishError({ bucket: "a.b" }).message).toMatch(/not a valid object store name/);
    expect(finishError({ bucket: "b", clientCert: "c.pem" }).key).toBe("client-key");
    expect(finishError({ bucket: "b", clientKey: "k.pem" }).key).toBe("client-cert");
    expect(finishError({ bucket: "b", jwt: "eyJ…" }).key).toBe("seed");
    expect(natsBackend.finish!({ type: "nats", bucket: "b", path: "/x//y/" })).toMatchObject({ path: "x/y" });
  });

  it("declares Litestream's NATS keys with their kinds and defaults", () => {
    expect(Object.keys(natsBackend.keys).sort()).toEqual(
      [
        "bucket",
        "client-cert",
        "client-key",
        "creds",
        "jwt",
        "max-reconnects",
        "nkey",
        "password",
        "reconnect-wait",
        "root-cas",
        "seed",
        "timeout",
        "tls",
        "token",
        "username",
      ].sort(),
    );
    expect(natsBackend.keys["root-cas"]).toMatchObject({ kind: "string-list" });
    expect(natsBackend.keys["max-reconnects"]).toMatchObject({ kind: "integer", default: -1, min: -1 });
    expect(natsBackend.keys["reconnect-wait"]).toMatchObject({ kind: "duration", default: "2s" });
    expect(natsBackend.keys.timeout).toMatchObject({ kind: "duration", default: "10s" });
  });

  it("tells servers, buckets and prefixes apart", () => {
    const at = (url: string) => natsBackend.location(parseNatsUrl(url));
    expect(at("nats://h:4222/b")).toBe(at("nats://u:p@H:4222/b/"));
    expect(at("nats:///b")).toBe(at("nats://127.0.0.1:4222/b"));
    expect(at("nats://h/b")).not.toBe(at("nats://h/c"));
    expect(at("nats://h/b")).not.toBe(at("nats://h/b/x"));
    expect(at("nats://h:1/b")).not.toBe(at("nats://h:2/b"));
  });

  it("resolves connection options as Litestream does: defaults, credentials in its order, reconnects and timeouts", () => {
    const settings = resolveNatsSettings({ ...parseNatsUrl("nats:///b"), maxReconnects: 3, reconnectWait: 250, timeout: 1500, username: "u", password: "p", token: "t" });
    expect(settings).toMatchObject({ server: "127.0.0.1:4222", bucket: "b", prefix: "", auth: "username", timeoutMs: 1500 });
    expect(settings.connection).toMatchObject({ servers: "127.0.0.1:4222", maxReconnectAttempts: 3, reconnectTimeWait: 250, timeout: 1500, user: "u", pass: "p" });
    expect(resolveNatsSettings(parseNatsUrl("nats://h/b")).connection).toMatchObject({ maxReconnectAttempts: -1, reconnectTimeWait: 2000, timeout: 10_000 });
    expect(resolveNatsSettings({ ...parseNatsUrl("nats://h/b"), username: "u" }).auth).toBe("none");
    expect(resolveNatsSettings({ ...parseNatsUrl("nats://h/b"), token: "t" }).connection.token).toBe("t");
    expect(resolveNatsSettings({ ...parseNatsUrl("nats://h/b"), tls: true }).connection.tls).toEqual({});
    expect(() => resolveNatsSettings({ ...parseNatsUrl("nats://h/b"), nkey: "UABC" })).toThrow(/nkey is a public key: give its seed/);
    expect(() => resolveNatsSettings({ ...parseNatsUrl("nats://h/b"), rootCas: ["/nonexistent/ca.pem"] })).toThrow(/cannot read root-cas \/nonexistent\/ca\.pem/);
  });

  it("does not import the NATS client until loaded: the static imports of backend.ts never reach it", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(here, file), "utf8");
      for (const [, from] of text.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)) {
        expect(from, `${file} imports ${from}`).not.toMatch(/^@nats-io/);
        if (from!.startsWith("./")) visit(from!.slice(2).replace(/\.js$/, ".ts"));
      }
    };
    visit("backend.ts");
    expect([...seen].sort()).toEqual(["backend.ts", "spec.ts"]);
  });

  it("loads the client when asked (no connection until the first call)", async () => {
    const factory = await natsBackend.load();
    const client = factory(parseNatsUrl("nats://127.0.0.1:1/b/db"), { env: {} });
    expect([client.type, client.location]).toEqual(["nats", "nats://127.0.0.1:1/b/db"]);
  });
});
