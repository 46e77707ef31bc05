// LITESTREAM_LEASE_URL parsing: etcd and Consul forms, TLS schemes, credentials kept out of
// messages, and every mistake a VfsError("invalid-config") naming the variable.
import { isVfsError } from "@sqlrep/vfs";
import { describe, expect, it } from "vitest";
import { parseLeaseUrl } from "./lease-url.js";

describe("parseLeaseUrl", () => {
  it("etcd: endpoints (several), the key path, ttl, user and password", () => {
    expect(parseLeaseUrl("etcd://10.0.0.1:2379,10.0.0.2:2379/litefs/app?ttl=5s")).toMatchObject({
      type: "etcd",
      endpoints: ["http://10.0.0.1:2379", "http://10.0.0.2:2379"],
      key: "/litefs/app",
      ttlMs: 5000,
      username: undefined,
    });
    const t = parseLeaseUrl("etcds://root:s3cret@etcd.example:2379/k");
    expect(t).toMatchObject({ type: "etcd", endpoints: ["https://etcd.example:2379"], username: "root", password: "s3cret" });
    expect(t.display).toBe("etcds://root:***@etcd.example:2379/k");
  });

  it("consul: the last path segment is the key, the rest the KV prefix; a token as the password", () => {
    expect(parseLeaseUrl("consul://127.0.0.1:8500/litefs/app?ttl=10s&lock-delay=2s")).toMatchObject({
      type: "consul",
      url: "http://127.0.0.1:8500/litefs",
      key: "app",
      ttlMs: 10_000,
      lockDelayMs: 2000,
    });
    expect(parseLeaseUrl("consuls://:tok@consul.example/app")).toMatchObject({ url: "https://:tok@consul.example", key: "app" });
  });

  it.each([
    ["redis://h:1/k", /unknown lease store "redis"/],
    ["etcd://h:2379", /lease key .* is missing/],
    ["etcd://h:2379/k?lock-delay=1s", /unknown parameter "lock-delay" \(known: ttl\)/],
    ["consul://h:8500/k?ttl=soon", /ttl=soon/],
    ["not a url", /expected etcd:\/\/host:port\/key/],
  ])("refuses %s", (url, message) => {
    let caught: unknown;
    try {
      parseLeaseUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(isVfsError(caught, "invalid-config")).toBe(true);
    expect((caught as Error).message).toMatch(/^LITESTREAM_LEASE_URL=/);
    expect((caught as Error).message).toMatch(message);
  });

  it("never shows a password in a message", () => {
    expect(() => parseLeaseUrl("etcd://u:hunter2@h:2379")).toThrow(/u:\*\*\*@/);
    expect(() => parseLeaseUrl("etcd://u:hunter2@h:2379")).not.toThrow(/hunter2/);
  });
});
