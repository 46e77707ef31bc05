// The bytes of the virtual files clients read (litefs-js, litefs-go, litefs-node),
// exactly as LiteFS writes them (reference litefs.md §2.1, §10).

/** `.lag` before a replica's first sync has finished: int32 max. */
export const LAG_NOT_SYNCED = 2147483647;

/** Byte 72 of `<db>-lock`: the halt lock. */
export const HALT_LOCK_BYTE = 72;

/** `<db>-pos`: `%016x/%016x\n` of the TXID and the post-apply checksum (34 bytes). */
export function formatPosition(txid: number, checksum: bigint): string {
  if (!Number.isSafeInteger(txid) || txid < 0) throw new RangeError(`TXID ${txid} is not a non-negative safe integer`);
  if (checksum < 0n || checksum > 0xffffffffffffffffn) throw new RangeError(`checksum ${checksum} is not a uint64`);
  return `${txid.toString(16).padStart(16, "0")}/${checksum.toString(16).padStart(16, "0")}\n`;
}

/** `.lag`: `%+010d\n` of milliseconds (the sign counts in the width). */
export function formatLag(ms: number): string {
  const value = Math.max(-2147483648, Math.min(LAG_NOT_SYNCED, Math.trunc(ms)));
  const digits = Math.abs(value).toString().padStart(9, "0");
  return `${value < 0 ? "-" : "+"}${digits}\n`;
}
