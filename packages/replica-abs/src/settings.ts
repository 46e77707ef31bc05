/**
 * An ABS replica spec plus the environment → what a client needs: the service URL, the
 * container, the prefix and the credential, chosen the way Litestream chooses it.
 */
import { cleanPrefix, ReplicaError } from "@sqlrep/replica";
import { absServiceUrl, type AbsSpec } from "./spec.js";

/** How requests are authorised. */
export type AbsCredential = { kind: "sas"; token: string } | { kind: "shared-key"; accountName: string; accountKey: string };

/** Where the credential came from (for diagnostics). */
export type AbsCredentialSource = "spec" | "LITESTREAM_AZURE_SAS_TOKEN" | "LITESTREAM_AZURE_ACCOUNT_KEY";

/** Everything needed to build a client for an ABS replica. */
export interface AbsSettings {
  /** The blob service URL without a query (`https://ACCOUNT.blob.core.windows.net`, or the endpoint). */
  serviceUrl: string;
  container: string;
  /** The replica's path in the container, cleaned (no leading or trailing `/`; may be empty). */
  prefix: string;
  credential: AbsCredential;
  credentialSource: AbsCredentialSource;
}

/**
 * Resolves a spec as Litestream v0.5 does: a SAS token (the spec's, else
 * `LITESTREAM_AZURE_SAS_TOKEN`) wins; else the shared key (the spec's, else
 * `LITESTREAM_AZURE_ACCOUNT_KEY`) with the account name. Litestream falls back to the
 * Azure SDK's default credential chain; sqlrep does not (see the README's Limits), so
 * with neither the error names both keys and both variables.
 */
export function resolveAbsSettings(spec: AbsSpec, env: NodeJS.ProcessEnv = process.env): AbsSettings {
  const where = spec.url ? ` (${spec.url})` : "";
  if (spec.type !== "abs") throw new ReplicaError("invalid-config", `not an ABS replica spec: type ${JSON.stringify(spec.type)}${where}`, { key: spec.url });
  if (!spec.bucket) throw new ReplicaError("invalid-config", `ABS replica has no container${where}: set "bucket" or use a URL abs://ACCOUNT@CONTAINER/PATH`, { key: "bucket" });
  if (!spec.endpoint && !spec.accountName) throw new ReplicaError("invalid-config", `ABS replica has no account-name and no endpoint${where}`, { key: "account-name" });
  const base = { serviceUrl: absServiceUrl(spec), container: spec.bucket, prefix: cleanPrefix(spec.path ?? "") };
  const sas = nonEmpty(spec.sasToken) ?? nonEmpty(env.LITESTREAM_AZURE_SAS_TOKEN);
  if (sas !== undefined) {
    return { ...base, credential: { kind: "sas", token: sas.replace(/^\?/, "") }, credentialSource: nonEmpty(spec.sasToken) ? "spec" : "LITESTREAM_AZURE_SAS_TOKEN" };
  }
  const key = nonEmpty(spec.accountKey) ?? nonEmpty(env.LITESTREAM_AZURE_ACCOUNT_KEY);
  if (key === undefined) {
    throw new ReplicaError(
      "invalid-config",
      `ABS replica${where} has no credentials: set account-key or sas-token, or $LITESTREAM_AZURE_ACCOUNT_KEY or $LITESTREAM_AZURE_SAS_TOKEN (the Azure default credential chain is not supported)`,
      { key: "account-key" },
    );
  }
  const accountName = nonEmpty(spec.accountName);
  if (accountName === undefined) throw new ReplicaError("invalid-config", `ABS replica${where}: a shared key needs account-name`, { key: "account-name" });
  return { ...base, credential: { kind: "shared-key", accountName, accountKey: key }, credentialSource: nonEmpty(spec.accountKey) ? "spec" : "LITESTREAM_AZURE_ACCOUNT_KEY" };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
