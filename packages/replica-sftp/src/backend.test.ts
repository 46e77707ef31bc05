// The sftp backend entry: sftp:// URLs as Litestream's CLI reads them, keys and refusals,
// parsing through a registry — without loading ssh2.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isReplicaError, parseReplicaUrl, ReplicaRegistry, type ReplicaError } from "@sqlrep/replica";
import { cleanSftpPath, parseSftpUrl, sftpBackend, splitHostPort } from "./backend.js";

const here = dirname(fileURLToPath(import.meta.url));

function finishError(spec: Record<string, unknown>): ReplicaError {
  try {
    sftpBackend.finish!({ type: "sftp", ...spec });
  } catch (err) {
    expect(isReplicaError(err, "invalid-config")).toBe(true);
    return err as ReplicaError;
  }
  return expect.unreachable("expected invalid-config");
}

describe("the sftp backend", () => {
  it("reads sftp://USER[:PASSWORD]@HOST[:PORT]/PATH, keeping the path absolute as Litestream's CLI does", () => {
    expect(parseSftpUrl("sftp://alice:s%40cret@backup.example:2222/srv/backups//db/")).toEqual({
      type: "sftp",
      url: "sftp://alice:s%40cret@backup.example:2222/srv/backups//db/",
      host: "backup.example:2222",
      user: "alice",
      password: "s@cret",
      path: "/srv/backups/db",
    });
    expect(parseSftpUrl("sftp://bob@host")).toMatchObject({ host: "host", user: "bob", path: "" });
    expect(parseSftpUrl("sftp://bob@[::1]:22/x")).toMatchObject({ host: "[::1]:22", path: "/x" });
  });

  it("refuses a URL without a host, and any query parameter", () => {
    expect(() => parseSftpUrl("sftp:///x")).toThrow(/SFTP URL sftp:\/\/\/x has no host/);
    expect(() => parseSftpUrl("sftp://u@h/x?host-key=abc")).toThrow(/unknown query parameter "host-key"/);
  });

  it("parses through a registry that lists it", () => {
    expect(parseReplicaUrl("sftp://u@h/p", [sftpBackend])).toMatchObject({ type: "sftp", host: "h", path: "/p" });
    expect(() => parseReplicaUrl("sftp://u@h/p")).toThrow(/replica scheme sftp:\/\/ is not supported/);
    expect(new ReplicaRegistry([sftpBackend]).parse("sftp://u@h:2022/p")).toMatchObject({ host: "h:2022", user: "u" });
  });

  it("completes a config's spec: host and user are required and named, the port is checked, the path cleaned", () => {
    expect(finishError({ user: "u" }).key).toBe("host");
    expect(finishError({ host: "h" }).key).toBe("user");
    expect(finishError({ host: "h:99999", user: "u" }).message).toMatch(/host "h:99999" is not host or host:port/);
    expect(sftpBackend.finish!({ type: "sftp", host: "h", user: "u", path: "backups/./db/" })).toMatchObject({ path: "backups/db" });
    expect(sftpBackend.finish!({ type: "sftp", host: "h", user: "u" })).toMatchObject({ path: "" });
  });

  it("declares Litestream's SFTP keys, and a location that tells servers, users and paths apart", () => {
    expect(Object.keys(sftpBackend.keys).sort()).toEqual(["concurrent-writes", "host", "host-key", "key-path", "password", "user"]);
    expect(sftpBackend.keys["concurrent-writes"]).toMatchObject({ kind: "boolean", default: true });
    expect(sftpBackend.keys.host).toMatchObject({ inUrl: true });
    const at = (url: string) => sftpBackend.location(parseSftpUrl(url));
    expect(at("sftp://u@h/db")).toBe(at("sftp://u:pw@H:22/db/"));
    expect(at("sftp://u@h/db")).not.toBe(at("sftp://u@h:2222/db"));
    expect(at("sftp://u@h/db")).not.toBe(at("sftp://v@h/db"));
    expect(at("sftp://u@h/db")).not.toBe(at("sftp://u@h/db2"));
  });

  it("cleans paths like Go's path.Clean and splits host:port", () => {
    expect(["", "/", "/a/../b", "a/../../b", "./a//b/.", "/../x"].map(cleanSftpPath)).toEqual(["", "/", "/b", "../b", "a/b", "/x"]);
    expect(splitHostPort("h", "host")).toEqual({ host: "h", port: 22 });
    expect(splitHostPort("[fe80::1]:2222", "host")).toEqual({ host: "fe80::1", port: 2222 });
  });

  it("does not import ssh2 until loaded: the static imports of backend.ts never reach it", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(here, file), "utf8");
      for (const [, from] of text.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)) {
        expect(from, `${file} imports ${from}`).not.toMatch(/^ssh2/);
        if (from!.startsWith("./")) visit(from!.slice(2).replace(/\.js$/, ".ts"));
      }
    };
    visit("backend.ts");
    expect([...seen].sort()).toEqual(["backend.ts", "spec.ts"]);
  });

  it("loads the client when asked (no connection until the first call)", async () => {
    const factory = await sftpBackend.load();
    const client = factory(parseSftpUrl("sftp://u@127.0.0.1:1/db"), { env: {} });
    expect([client.type, client.location]).toEqual(["sftp", "sftp://u@127.0.0.1:1/db"]);
  });
});
