/**
 * The SFTP replica backend for an application's registry: `sftp://` URLs, Litestream's
 * SFTP config keys and, loaded only on first use, the client over `ssh2`. Import it from
 * `@sqlrep/replica-sftp/backend`: that entry does not load ssh2.
 */
import { rejectQuery, ReplicaError, type ReplicaBackend } from "@sqlrep/replica";
import { cleanSftpPath, splitHostPort, type SftpSpec } from "./spec.js";

export { cleanSftpPath, DEFAULT_SSH_PORT, splitHostPort, type SftpSpec } from "./spec.js";

const KEYS = {
  host: { kind: "string", doc: "The SSH server, host or host:port (port 22 by default).", inUrl: true, global: true },
  user: { kind: "string", doc: "The SSH user (else the URL's).", global: true },
  password: { kind: "string", doc: "Password authentication (else the URL's, if any).", global: true },
  "key-path": { kind: "string", doc: "A private key file (OpenSSH or PEM, unencrypted) for public key authentication.", global: true },
  "host-key": {
    kind: "string",
    doc: "The server's public key, as an authorized_keys line (ssh-ed25519 AAAA…); a server with another key is refused. Without it any host key is accepted.",
    global: true,
  },
  "concurrent-writes": { kind: "boolean", doc: "Pipeline the writes of one file (several requests in flight).", default: true, global: true },
} as const satisfies ReplicaBackend["keys"];

/**
 * `sftp://USER[:PASSWORD]@HOST[:PORT]/PATH`, or `type: sftp` with `host`, `user`, `path`
 * and the keys above. The path is taken as Litestream's CLI takes it: `/backups/db` is
 * absolute on the server; a config `path` without a leading `/` is relative to the
 * user's login directory.
 */
export const sftpBackend: ReplicaBackend = {
  type: "sftp",
  schemes: ["sftp"],
  keys: KEYS,
  parseUrl(url, text) {
    if (url.hostname === "") throw new ReplicaError("invalid-url", `SFTP URL ${text} has no host`, { key: text });
    rejectQuery(url, [], text);
    const spec: SftpSpec = { type: "sftp", url: text, host: url.host, path: cleanSftpPath(decodeURIComponent(url.pathname)) };
    if (url.username !== "") spec.user = decodeURIComponent(url.username);
    if (url.password !== "") spec.password = decodeURIComponent(url.password);
    return spec;
  },
  finish(spec) {
    const sftp: SftpSpec = { ...spec, path: cleanSftpPath(typeof spec.path === "string" ? spec.path : "") };
    if (typeof sftp.host !== "string" || sftp.host === "") throw new ReplicaError("invalid-config", "an sftp replica needs a host (or a url)", { key: "host" });
    splitHostPort(sftp.host, "host");
    if (typeof sftp.user !== "string" || sftp.user === "")
      throw new ReplicaError("invalid-config", "an sftp replica needs a user (user: or sftp://USER@HOST/PATH)", { key: "user" });
    return sftp;
  },
  location(spec) {
    const s = spec as SftpSpec;
    const { host, port } = splitHostPort(s.host ?? "", "host");
    return `sftp:${s.user ?? ""}@${host.toLowerCase()}:${port}|${cleanSftpPath(s.path ?? "")}`;
  },
  async load() {
    const { createSftpReplicaClient } = await import("./replica.js");
    return (spec, context) => createSftpReplicaClient(spec, { env: context.env });
  },
};

/** An `sftp://` URL as a spec (what a registry with {@link sftpBackend} parses it to). */
export function parseSftpUrl(text: string): SftpSpec {
  const url = new URL(text);
  if (url.protocol !== "sftp:") throw new ReplicaError("invalid-url", `not an SFTP URL: ${text}`, { key: text });
  return sftpBackend.parseUrl(url, text);
}
