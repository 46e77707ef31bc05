/**
 * A primary's history over HTTP: its checksum after each TXID of a range (`/checksums`),
 * what a rejoining replica compares its own with to find the last common position.
 */
import { parseChecksum } from "@sqlrep/ltx";
import type { PrimaryHistory } from "../divergence.js";
import { peerRequest, type PeerIdentity } from "./peer.js";

/** The primary's `/checksums` at `url` for divergence: its checksum after each TXID of a range. */
export function peerHistory(url: string, identity: PeerIdentity): PrimaryHistory {
  return async (name, from, to) => {
    const res = await peerRequest(url, identity, { method: "GET", path: `/checksums?name=${encodeURIComponent(name)}&from=${from}&to=${to}`, timeoutMs: 10_000 });
    if (res.status !== 200) return undefined;
    const json = JSON.parse(Buffer.from(res.body).toString("utf8")) as { checksums: Record<string, string> };
    const map = new Map<number, bigint>();
    for (const [txid, hex] of Object.entries(json.checksums)) {
      const sum = parseChecksum(hex);
      if (sum !== undefined) map.set(Number(txid), sum);
    }
    return map;
  };
}
