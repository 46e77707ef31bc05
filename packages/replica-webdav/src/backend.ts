/**
 * The WebDAV replica backend for an application's registry: `webdav://` and `webdavs://`
 * URLs, Litestream's WebDAV config keys and, loaded on first use, the client (Node's
 * fetch plus an XML parser for PROPFIND answers). Import it from
 * `@sqlrep/replica-webdav/backend`: that entry loads neither.
 */
import { cleanPrefix, rejectQuery, ReplicaError, type ReplicaBackend } from "@sqlrep/replica";
import { finishWebdavSpec, webdavBaseUrl, type WebdavSpec } from "./spec.js";

export { finishWebdavSpec, webdavBaseUrl, type WebdavSpec } from "./spec.js";

const KEYS = {
  "webdav-url": { kind: "string", doc: "The WebDAV server's base URL (http:// or https://); the replica path goes under it.", inUrl: true, global: true },
  "webdav-username": { kind: "string", doc: "Basic-auth user (or the user part of webdav://USER:PASS@HOST/PATH).", global: true, group: "webdav-credentials" },
  "webdav-password": { kind: "string", doc: "Basic-auth password.", global: true, group: "webdav-credentials" },
} as const satisfies ReplicaBackend["keys"];

/**
 * `webdav://[USER[:PASS]@]HOST[:PORT]/PATH` (HTTP) or `webdavs://…` (HTTPS), Litestream's
 * forms, or `type: webdav` with `webdav-url`, `webdav-username`, `webdav-password`, `path`.
 */
export const webdavBackend: ReplicaBackend = {
  type: "webdav",
  schemes: ["webdav", "webdavs"],
  keys: KEYS,
  parseUrl(url, text) {
    if (url.host === "") throw new ReplicaError("invalid-url", `WebDAV URL ${text} has no host (webdav://USER:PASS@HOST/PATH)`, { key: text });
    rejectQuery(url, [], text);
    const scheme = url.protocol === "webdavs:" ? "https" : "http";
    const spec: WebdavSpec = { type: "webdav", url: text, webdavUrl: `${scheme}://${url.host}`, path: cleanPrefix(decodeURIComponent(url.pathname)) };
    if (url.username !== "") spec.webdavUsername = decodeURIComponent(url.username);
    if (url.password !== "") spec.webdavPassword = decodeURIComponent(url.password);
    return spec;
  },
  finish: finishWebdavSpec,
  location(spec) {
    const dav = spec as WebdavSpec;
    return `webdav:${webdavBaseUrl(dav)}|${cleanPrefix(dav.path ?? "")}`;
  },
  async load() {
    const { createWebdavReplicaClient } = await import("./replica.js");
    return (spec) => createWebdavReplicaClient(spec);
  },
};

/** A `webdav://` or `webdavs://` URL as a WebDAV spec (what a registry with {@link webdavBackend} parses it to). */
export function parseWebdavUrl(text: string): WebdavSpec {
  const url = new URL(text);
  if (url.protocol !== "webdav:" && url.protocol !== "webdavs:") throw new ReplicaError("invalid-url", `not a WebDAV URL: ${text}`, { key: text });
  return webdavBackend.parseUrl(url, text);
}
