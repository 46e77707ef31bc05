/** The fields of a WebDAV replica spec and their checks, shared by the backend entry and the client. */
import { cleanPrefix, ReplicaError, type ReplicaSpec } from "@sqlrep/replica";

/** The fields a WebDAV replica spec may carry. */
export interface WebdavSpec extends ReplicaSpec {
  /** The server's base URL (`https://host/remote.php/dav/files/me`); the path goes under it. */
  webdavUrl?: string | undefined;
  webdavUsername?: string | undefined;
  webdavPassword?: string | undefined;
}

/** Checks a spec (a URL's, or a config's keys) and completes it; errors name the offending key. */
export function finishWebdavSpec(spec: ReplicaSpec): WebdavSpec {
  const dav: WebdavSpec = { ...spec, path: cleanPrefix(typeof spec.path === "string" ? spec.path : "") };
  if (typeof dav.webdavUrl !== "string" || dav.webdavUrl === "") {
    throw new ReplicaError("invalid-config", "a webdav replica needs webdav-url (or a url webdav://HOST/PATH)", { key: "webdav-url" });
  }
  let base: URL;
  try {
    base = new URL(dav.webdavUrl);
  } catch (err) {
    throw new ReplicaError("invalid-config", `webdav-url ${dav.webdavUrl} is not a URL`, { key: "webdav-url", cause: err });
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new ReplicaError("invalid-config", `webdav-url ${dav.webdavUrl} must be http:// or https://`, { key: "webdav-url" });
  }
  if (base.search !== "" || base.hash !== "") throw new ReplicaError("invalid-config", `webdav-url ${dav.webdavUrl} must not have a query or fragment`, { key: "webdav-url" });
  if (dav.webdavPassword && !dav.webdavUsername) throw new ReplicaError("invalid-config", "webdav-password is set but webdav-username is not", { key: "webdav-username" });
  return dav;
}

/** The base URL of a spec, without credentials or a trailing `/`. */
export function webdavBaseUrl(spec: WebdavSpec): string {
  return (spec.webdavUrl ?? "").replace(/\/+$/, "");
}
