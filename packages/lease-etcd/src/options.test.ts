// lease.etcd options: defaults, and errors that name the bad key.
import { describe, expect, it } from "vitest";
import { checkEtcdLeaseOptions } from "./options.js";

const ok = { endpoints: ["http://127.0.0.1:2379"], key: "/litefs/app" };

describe("checkEtcdLeaseOptions", () => {
  it("fills in the defaults (TTL 10 s, no auth, no TLS)", () => {
    expect(checkEtcdLeaseOptions(ok)).toEqual({ endpoints: ok.endpoints, key: "/litefs/app", ttlMs: 10_000, auth: undefined, tls: undefined });
  });

  it("takes the whole issue's example block", () => {
    const checked = checkEtcdLeaseOptions({ ...ok, ttl: 2_000, username: "u", password: "p", tls: { ca: "/ca.pem", cert: "", key: "" } });
    expect(checked).toMatchObject({ ttlMs: 2_000, auth: { username: "u", password: "p" }, tls: { ca: "/ca.pem", cert: undefined, key: undefined } });
  });

  it.each([
    [{ ...ok, ttll: 1 }, /lease\.etcd\.ttll: unknown key/],
    [{ key: "/k" }, /lease\.etcd\.endpoints: required/],
    [{ ...ok, endpoints: ["127.0.0.1:2379"] }, /lease\.etcd\.endpoints\[0\]: (not a URL|must be http)/],
    [{ ...ok, key: "" }, /lease\.etcd\.key: required/],
    [{ ...ok, ttl: 1_000 }, /lease\.etcd\.ttl: 1000 ms is below the 2s minimum/],
    [{ ...ok, ttl: 2_500 }, /lease\.etcd\.ttl: 2500 ms is not a whole number of seconds/],
    [{ ...ok, password: "p" }, /lease\.etcd\.username: required with password/],
    [{ ...ok, tls: { ca: "/a", cert: "/c" } }, /lease\.etcd\.tls\.key: cert and key go together/],
    [{ ...ok, tls: { cacert: "/a" } }, /lease\.etcd\.tls\.cacert: unknown key/],
  ])("refuses %j, naming the key", (input, message) => {
    expect(() => checkEtcdLeaseOptions(input)).toThrow(message);
  });
});
