/**
 * The NATS replica backend for an application's registry: `nats://` URLs, Litestream's
 * NATS config keys and, loaded only on first use, the JetStream object store client.
 * Import it from `@sqlrep/replica-nats/backend`: that entry does not load the NATS client.
 */
import { cleanPrefix, rejectQuery, ReplicaError, type ReplicaBackend } from "@sqlrep/replica";
import { NATS_DEFAULTS, type NatsSpec } from "./spec.js";

export { NATS_DEFAULTS, type NatsSpec } from "./spec.js";

const KEYS = {
  bucket: { kind: "string", doc: "The JetStream object store bucket (it must exist); else the URL's first path segment.", global: true },
  jwt: { kind: "string", doc: "A user JWT, with seed.", global: true },
  seed: { kind: "string", doc: "The user's nkey seed (SU…), with jwt or nkey.", global: true },
  creds: { kind: "string", doc: "A credentials file (user JWT and seed, as nsc writes it).", global: true },
  nkey: { kind: "string", doc: "Nkey authentication: the seed (SU…), or the public key (U…) with its seed in seed.", global: true },
  username: { kind: "string", doc: "User name, with password.", global: true },
  password: { kind: "string", doc: "Password, with username.", global: true },
  token: { kind: "string", doc: "An authentication token.", global: true },
  tls: { kind: "boolean", doc: "Require TLS.", default: false, global: true },
  "root-cas": { kind: "string-list", doc: "CA certificate files (PEM) that the server's certificate must chain to.", global: true },
  "client-cert": { kind: "string", doc: "Client certificate file (PEM) for mutual TLS, with client-key.", global: true },
  "client-key": { kind: "string", doc: "Client key file (PEM), with client-cert.", global: true },
  "max-reconnects": { kind: "integer", doc: "Reconnect attempts after the connection is lost; -1 never gives up.", default: -1, min: -1, global: true },
  "reconnect-wait": { kind: "duration", doc: "Wait between reconnect attempts.", default: "2s", global: true },
  timeout: { kind: "duration", doc: "Time to connect, and to wait for any JetStream answer.", default: "10s", global: true },
} as const satisfies ReplicaBackend["keys"];

/**
 * `nats://[USER:PASSWORD@|TOKEN@]HOST[:PORT]/BUCKET[/PREFIX]`, or `type: nats` with
 * `bucket`, `path` and the keys above. Files live at `<prefix>/ltx/<level>/…` in the
 * bucket, Litestream's layout (its CLI has no prefix for NATS: without one, the layout
 * is exactly its own).
 */
export const natsBackend: ReplicaBackend = {
  type: "nats",
  schemes: ["nats"],
  keys: KEYS,
  parseUrl(url, text) {
    rejectQuery(url, [], text);
    const [bucket = "", ...rest] = cleanPrefix(decodeURIComponent(url.pathname)).split("/");
    const spec: NatsSpec = { type: "nats", url: text, path: rest.join("/") };
    if (url.host !== "") spec.server = url.host;
    if (bucket !== "") spec.bucket = bucket;
    // As the NATS clients read URLs: a user without a password is a token.
    if (url.username !== "" && url.password !== "") {
      spec.username = decodeURIComponent(url.username);
      spec.password = decodeURIComponent(url.password);
    } else if (url.username !== "") spec.token = decodeURIComponent(url.username);
    return spec;
  },
  finish(spec) {
    const nats: NatsSpec = { ...spec, path: cleanPrefix(typeof spec.path === "string" ? spec.path : "") };
    if (typeof nats.bucket !== "string" || nats.bucket === "")
      throw new ReplicaError("invalid-config", "a nats replica needs a bucket (bucket: or nats://HOST/BUCKET)", { key: "bucket" });
    if (!/^[A-Za-z0-9_-]+$/.test(nats.bucket))
      throw new ReplicaError("invalid-config", `bucket ${JSON.stringify(nats.bucket)} is not a valid object store name (letters, digits, - and _)`, { key: "bucket" });
    if ((nats.clientCert === undefined) !== (nats.clientKey === undefined)) {
      throw new ReplicaError("invalid-config", "client-cert and client-key must both be given for mutual TLS", {
        key: nats.clientCert === undefined ? "client-cert" : "client-key",
      });
    }
    if (nats.jwt !== undefined && nats.seed === undefined) throw new ReplicaError("invalid-config", "jwt needs the user's seed (seed:)", { key: "seed" });
    return nats;
  },
  location(spec) {
    const n = spec as NatsSpec;
    return `nats:${(n.server ?? NATS_DEFAULTS.server).toLowerCase()}|${n.bucket ?? ""}|${cleanPrefix(n.path ?? "")}`;
  },
  async load() {
    const { createNatsReplicaClient } = await import("./replica.js");
    return (spec, context) => createNatsReplicaClient(spec, { env: context.env });
  },
};

/** A `nats://` URL as a spec (what a registry with {@link natsBackend} parses it to). */
export function parseNatsUrl(text: string): NatsSpec {
  const url = new URL(text);
  if (url.protocol !== "nats:") throw new ReplicaError("invalid-url", `not a NATS URL: ${text}`, { key: text });
  return natsBackend.parseUrl(url, text);
}
