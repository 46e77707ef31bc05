// lease.consul options: LiteFS's URL convention (token as password, key prefix as path) and defaults.
import { describe, expect, it } from "vitest";
import { checkConsulLeaseOptions, redact } from "./options.js";

describe("checkConsulLeaseOptions", () => {
  it("uses LiteFS's defaults: TTL 10 s, lock-delay 1 s, no prefix, the agent's node", () => {
    expect(checkConsulLeaseOptions({ url: "http://127.0.0.1:8500", key: "litefs/app" })).toEqual({
      endpoint: "http://127.0.0.1:8500",
      host: "127.0.0.1",
      port: 8500,
      secure: false,
      token: undefined,
      prefix: "",
      kvKey: "litefs/app",
      nodeName: undefined,
      ttlMs: 10_000,
      lockDelayMs: 1_000,
    });
  });

  it("takes an ACL token from the URL's password and a key prefix from its path (FLY_CONSUL_URL style)", () => {
    const checked = checkConsulLeaseOptions({ url: "https://:s3cr%2Ft@consul-iad.example.net/my-app-123/", key: "litefs/primary", ttl: 15_000, lockDelay: 500 });
    expect(checked).toMatchObject({
      endpoint: "https://consul-iad.example.net",
      port: 443,
      secure: true,
      token: "s3cr/t",
      prefix: "my-app-123",
      kvKey: "my-app-123/litefs/primary",
      nodeName: "my-app-123/litefs",
      ttlMs: 15_000,
      lockDelayMs: 500,
    });
  });

  it.each([
    [{ key: "k" }, /lease\.consul\.url: required/],
    [{ url: "consul:8500", key: "k" }, /lease\.consul\.url: must be http or https/],
    [{ url: "http://c:8500" }, /lease\.consul\.key: required/],
    [{ url: "http://c:8500", key: "k", "lock-delay": 1 }, /lease\.consul\.lock-delay: unknown key/],
    [{ url: "http://c:8500", key: "k", ttl: "10s" }, /lease\.consul\.ttl: must be a duration/],
  ])("refuses %j, naming the key", (input, message) => {
    expect(() => checkConsulLeaseOptions(input)).toThrow(message);
  });

  it("never shows the token in messages", () => {
    expect(redact("https://:tok@host/p")).toBe("https://:***@host/p");
    expect(() => checkConsulLeaseOptions({ url: "ftp://:tok@host/p", key: "k" })).toThrow(/ftp:\/\/:\*\*\*@host\/p/);
  });
});
