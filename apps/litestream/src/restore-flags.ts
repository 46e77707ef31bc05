/**
 * The restore selectors on the command line (`-txid`, `-timestamp`, `-generation`,
 * `-index`), checked as Litestream checks them, into the request `@sqlrep/replica` serves.
 */
import type { RestoreRequest, RestoreTarget } from "@sqlrep/replica";
import { UsageError } from "@sqlrep/runtime";

/** A v0.3 WAL index on the command line: hex, 1 to 8 digits (`-index 1f`), at most 7fffffff. */
export function parseIndexFlag(text: string): number {
  if (!/^(0x)?[0-9a-fA-F]{1,8}$/.test(text)) throw new UsageError(`invalid -index ${JSON.stringify(text)}: expected a WAL index in hex (e.g. 0000001f)`);
  const value = parseInt(text.replace(/^0x/, ""), 16);
  if (value > 0x7fffffff) throw new UsageError(`invalid -index ${text}: v0.3 WAL indexes stop at 7fffffff`);
  return value;
}

/**
 * A request from a parsed target and the v0.3 flags, checked as v0.3.13 checks them:
 * `-index` needs `-generation` and excludes `-timestamp`; `-txid` is a v0.5 selector and
 * excludes both v0.3 ones.
 */
export function restoreRequest(target: RestoreTarget, legacy: { generation?: string | undefined; index?: string | undefined }): RestoreRequest {
  const { generation, index } = legacy;
  const v3 = generation !== undefined || index !== undefined;
  if (v3 && target.txid !== undefined) throw new UsageError("cannot specify -txid (v0.5) with -generation or -index (v0.3)");
  if (index !== undefined && generation === undefined) throw new UsageError("must specify -generation when restoring to -index");
  if (index !== undefined && target.timestamp !== undefined) throw new UsageError("cannot specify -index and -timestamp");
  if (generation !== undefined && !/^[0-9a-f]{16}$/.test(generation)) {
    throw new UsageError(`invalid -generation ${JSON.stringify(generation)}: a v0.3 generation is 16 lowercase hex digits`);
  }
  const request: RestoreRequest = { target };
  if (generation !== undefined) request.generation = generation;
  if (index !== undefined) request.index = parseIndexFlag(index);
  return request;
}
