/** Rules on an S3 spec's values shared by the backend (parsing, checking) and the settings: endpoint schemes, local hosts, SSE-C keys. */
import { ReplicaError } from "@sqlrep/replica";

/** Throws unless `key` is 32 bytes in standard base64 (what S3 takes for SSE-C). */
export function checkCustomerKey(key: string, source: string): void {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(key) && key.length % 4 === 0 ? Buffer.from(key, "base64") : undefined;
  if (bytes === undefined || bytes.length !== 32) {
    throw new ReplicaError(
      "invalid-config",
      `${source} must be a 256-bit key in base64 (32 bytes${bytes ? `, got ${bytes.length}` : ", got text that is not base64"}); make one with: openssl rand -base64 32`,
      {
        key: source === "sse-customer-key" ? "sse-customer-key" : "sse-customer-key-path",
      },
    );
  }
}

/** Litestream's rule for an endpoint without a scheme: http for local and private hosts, https for the rest. */
export function ensureEndpointScheme(endpoint: string): string {
  if (/^https?:\/\//i.test(endpoint)) return endpoint;
  return `${isLocalHost(endpoint) ? "http" : "https"}://${endpoint}`;
}

/** localhost, 127.0.0.1, private IPv4 ranges, `.local` and `.localhost` names (Litestream's `IsLocalEndpoint`). */
export function isLocalHost(endpoint: string): boolean {
  const host = endpoint
    .replace(/^[a-z]+:\/\//i, "")
    .split("/")[0]!
    .replace(/:\d+$/, "")
    .toLowerCase();
  return host === "localhost" || host === "127.0.0.1" || /^(10|192\.168|172\.(1[6-9]|2\d|3[01]))\./.test(host) || host.endsWith(".local") || host.endsWith(".localhost");
}
