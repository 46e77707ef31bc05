/**
 * The Azure Blob Storage replica backend for an application's registry: `abs://` URLs,
 * the ABS config keys and, loaded only on first use, the client over `@azure/storage-blob`.
 * Import it from `@sqlrep/replica-abs/backend`: that entry does not load the SDK.
 */
import { cleanPrefix, rejectQuery, ReplicaError, type ReplicaBackend } from "@sqlrep/replica";
import { absServiceUrl, type AbsSpec } from "./spec.js";

export { absServiceUrl, type AbsSpec } from "./spec.js";

const KEYS = {
  "account-name": { kind: "string", doc: "The storage account (the user part of abs://ACCOUNT@CONTAINER/PATH).", global: true },
  "account-key": { kind: "string", doc: "The account's shared key; else $LITESTREAM_AZURE_ACCOUNT_KEY.", global: true },
  "sas-token": { kind: "string", doc: "A shared access signature (wins over a key); else $LITESTREAM_AZURE_SAS_TOKEN.", global: true },
  bucket: { kind: "string", doc: "The container (Litestream's name for it is bucket).", inUrl: true, global: true },
  endpoint: { kind: "string", doc: "The blob service URL (Azurite: http://127.0.0.1:10000/devstoreaccount1); default https://ACCOUNT.blob.core.windows.net.", global: true },
} as const satisfies ReplicaBackend["keys"];

/**
 * `abs://ACCOUNT@CONTAINER/PATH` (Litestream's form; `?endpoint=URL` is an sqlrep
 * addition for emulators and sovereign clouds), or `type: abs` with the keys above.
 */
export const absBackend: ReplicaBackend = {
  type: "abs",
  schemes: ["abs"],
  keys: KEYS,
  parseUrl(url, text) {
    if (url.hostname === "") throw new ReplicaError("invalid-url", `ABS URL ${text} has no container (abs://ACCOUNT@CONTAINER/PATH)`, { key: text });
    if (url.password !== "") {
      throw new ReplicaError("invalid-url", `ABS URL ${text} carries a secret after the account name: set account-key or $LITESTREAM_AZURE_ACCOUNT_KEY instead`, { key: text });
    }
    rejectQuery(url, ["endpoint"], text);
    const spec: AbsSpec = { type: "abs", url: text, bucket: url.hostname, path: cleanPrefix(decodeURIComponent(url.pathname)) };
    if (url.username !== "") spec.accountName = decodeURIComponent(url.username);
    const endpoint = url.searchParams.get("endpoint");
    if (endpoint !== null && endpoint !== "") spec.endpoint = endpoint;
    return spec;
  },
  finish(spec) {
    const abs: AbsSpec = { ...spec, path: cleanPrefix(typeof spec.path === "string" ? spec.path : "") };
    if (typeof abs.bucket !== "string" || abs.bucket === "") {
      throw new ReplicaError("invalid-config", "an abs replica needs a container: bucket (or a url abs://ACCOUNT@CONTAINER/PATH)", { key: "bucket" });
    }
    if (!abs.endpoint && !abs.accountName) {
      throw new ReplicaError("invalid-config", "an abs replica needs account-name (or an endpoint)", { key: "account-name" });
    }
    return abs;
  },
  location(spec) {
    const abs = spec as AbsSpec;
    return `abs:${absServiceUrl(abs)}|${abs.bucket ?? ""}|${cleanPrefix(abs.path ?? "")}`;
  },
  async load() {
    const { createAbsReplicaClient } = await import("./replica.js");
    return (spec, context) => createAbsReplicaClient(spec, { env: context.env });
  },
};

/** An `abs://` URL as an ABS spec (what a registry with {@link absBackend} parses it to). */
export function parseAbsUrl(text: string): AbsSpec {
  const url = new URL(text);
  if (url.protocol !== "abs:") throw new ReplicaError("invalid-url", `not an ABS URL: ${text}`, { key: text });
  return absBackend.parseUrl(url, text);
}
