/** Builds the `ReplicaClient` of a WebDAV spec: store under the base URL, Litestream's `<path>/ltx/<level>/` layout. */
import { cleanPrefix, directoryLayout, ObjectReplicaClient, ReplicaError, type ReplicaClient, type ReplicaSpec } from "@sqlrep/replica";
import { finishWebdavSpec, webdavBaseUrl } from "./spec.js";
import { WebdavObjectStore, type WebdavObjectStoreOptions } from "./webdav-store.js";

/** Options of {@link createWebdavReplicaClient}: the store's knobs (retries, spooling). */
export type WebdavReplicaClientOptions = Pick<WebdavObjectStoreOptions, "attempts" | "backoffMs" | "memoryLimit">;

/**
 * A `ReplicaClient` for a `webdav` spec (from `webdav://USER:PASS@HOST/PATH`, `webdavs://…`,
 * or a config's `type: webdav` keys). Files live at `<webdav-url>/<path>/ltx/<level>/<min>-<max>.ltx`,
 * as Litestream v0.5 writes them; missing collections are created on the first upload.
 */
export function createWebdavReplicaClient(spec: ReplicaSpec, options: WebdavReplicaClientOptions = {}): ReplicaClient {
  if (spec.type !== "webdav") throw new ReplicaError("invalid-config", `not a WebDAV replica spec: type ${JSON.stringify(spec.type)}`, { key: spec.url });
  const dav = finishWebdavSpec(spec);
  const prefix = cleanPrefix(dav.path ?? "");
  const base = webdavBaseUrl(dav);
  const store = new WebdavObjectStore({
    baseUrl: base,
    username: dav.webdavUsername,
    password: dav.webdavPassword,
    location: `${base.replace(/^http/, "webdav")}${prefix ? `/${prefix}` : ""}`,
    ...options,
  });
  return new ObjectReplicaClient(store, directoryLayout(prefix));
}
