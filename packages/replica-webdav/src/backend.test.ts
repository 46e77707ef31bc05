/** Unit tests of the webdav backend: webdav:// and webdavs:// URLs and config keys, multistatus parsing, the client loaded only on demand. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isReplicaError, parseReplicaUrl, ReplicaRegistry } from "@sqlrep/replica";
import { parseWebdavUrl, webdavBackend } from "./backend.js";
import { parseMultistatus } from "./multistatus.js";

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

describe("the webdav backend", () => {
  it("reads webdav:// (HTTP) and webdavs:// (HTTPS) URLs as Litestream does", () => {
    expect(parseWebdavUrl("webdavs://me:p%40ss@dav.example.com/backups/app.db/")).toEqual({
      type: "webdav",
      url: "webdavs://me:p%40ss@dav.example.com/backups/app.db/",
      webdavUrl: "https://dav.example.com",
      webdavUsername: "me",
      webdavPassword: "p@ss",
      path: "backups/app.db",
    });
    expect(parseWebdavUrl("webdav://127.0.0.1:8080")).toEqual({ type: "webdav", url: "webdav://127.0.0.1:8080", webdavUrl: "http://127.0.0.1:8080", path: "" });
    expect(parseReplicaUrl("webdavs://h/x", [webdavBackend])).toMatchObject({ type: "webdav", webdavUrl: "https://h" });
    expect(new ReplicaRegistry([webdavBackend]).parse("webdav://h/x")).toMatchObject({ type: "webdav", path: "x" });
  });

  it("names what is wrong with a URL or a config", () => {
    expect(failure(() => parseWebdavUrl("webdav:///x")).message).toMatch(/has no host/);
    expect(failure(() => parseWebdavUrl("webdav://h/x?timeout=3")).message).toMatch(/unknown query parameter "timeout"/);
    expect(failure(() => webdavBackend.finish!({ type: "webdav", path: "x" }))).toMatchObject({ code: "invalid-config", key: "webdav-url" });
    expect(failure(() => webdavBackend.finish!({ type: "webdav", webdavUrl: "ftp://h" }))).toMatchObject({ key: "webdav-url" });
    expect(failure(() => webdavBackend.finish!({ type: "webdav", webdavUrl: "http://h", webdavPassword: "p" }))).toMatchObject({ key: "webdav-username" });
    expect(webdavBackend.finish!({ type: "webdav", webdavUrl: "https://h/dav/", path: "/a//b/" })).toMatchObject({ path: "a/b" });
  });

  it("declares Litestream's WebDAV keys, and a location that tells servers and paths apart", () => {
    expect(Object.keys(webdavBackend.keys).sort()).toEqual(["webdav-password", "webdav-url", "webdav-username"]);
    expect(webdavBackend.keys["webdav-url"]).toMatchObject({ kind: "string", inUrl: true });
    const at = (url: string) => webdavBackend.location(webdavBackend.finish!(parseWebdavUrl(url)));
    expect(at("webdav://u:p@h/x")).toBe(at("webdav://h/x/"));
    expect(at("webdav://h/x")).toBe(webdavBackend.location({ type: "webdav", webdavUrl: "http://h/", path: "x" }));
    for (const other of ["webdav://h/y", "webdavs://h/x", "webdav://h:81/x", "webdav://g/x"]) expect(at(other)).not.toBe(at("webdav://h/x"));
  });

  it("parses multistatus answers: only 200 propstats count, namespaces are ignored, hrefs are decoded", () => {
    const xml = `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/dav/db/ltx/0/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
      <d:response><d:href>http://h/dav/db/ltx/0/a%20b.ltx</d:href><d:propstat><d:prop><d:resourcetype/><d:getcontentlength>42</d:getcontentlength><d:getlastmodified>Tue, 02 Jan 2024 03:04:05 GMT</d:getlastmodified><x:ltx-timestamp xmlns:x="urn:y">2024-01-02T03:04:05.678Z</x:ltx-timestamp></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
      <d:propstat><d:prop><d:getetag/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response></d:multistatus>`;
    expect(parseMultistatus(xml)).toEqual([
      { path: "/dav/db/ltx/0", collection: true, size: 0, lastModified: new Date(0), timestamp: undefined },
      {
        path: "/dav/db/ltx/0/a b.ltx",
        collection: false,
        size: 42,
        lastModified: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
        timestamp: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
      },
    ]);
  });

  it("does not load the client until asked: the static imports of backend.ts stay inside @sqlrep/replica", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(here, file), "utf8");
      for (const [, from] of text.matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)) {
        expect(from, `${file} imports ${from}`).toMatch(/^(@sqlrep\/replica|\.\/)/);
        if (from!.startsWith("./")) visit(from!.slice(2).replace(/\.js$/, ".ts"));
      }
    };
    visit("backend.ts");
    expect([...seen].sort()).toEqual(["backend.ts", "spec.ts"]);
  });

  it("loads the client when asked", async () => {
    const client = (await webdavBackend.load())(parseWebdavUrl("webdavs://u:p@h:8443/base/db"), { env: {} });
    expect(client.type).toBe("webdav");
    expect(client.location).toBe("webdavs://h:8443/base/db");
    expect(client.layout.levelPrefix(0)).toBe("base/db/ltx/0/");
  });
});
