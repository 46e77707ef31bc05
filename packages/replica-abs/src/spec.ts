/** The fields of an ABS replica spec, shared by the SDK-free backend entry and the client. */
import type { ReplicaSpec } from "@sqlrep/replica";

/** The fields an ABS replica spec may carry. */
export interface AbsSpec extends ReplicaSpec {
  /** The storage account (`abs://ACCOUNT@…`). */
  accountName?: string | undefined;
  /** The account's shared key; else `$LITESTREAM_AZURE_ACCOUNT_KEY`. */
  accountKey?: string | undefined;
  /** A SAS token (wins over a key); else `$LITESTREAM_AZURE_SAS_TOKEN`. */
  sasToken?: string | undefined;
  /** The container (Litestream calls it `bucket`). */
  bucket?: string | undefined;
  /** The blob service URL; default `https://ACCOUNT.blob.core.windows.net`. */
  endpoint?: string | undefined;
}

/** The blob service URL of a spec: its endpoint (no trailing `/`), else the account's public one. */
export function absServiceUrl(spec: AbsSpec): string {
  if (spec.endpoint) return spec.endpoint.replace(/\/+$/, "");
  return `https://${spec.accountName ?? ""}.blob.core.windows.net`;
}
