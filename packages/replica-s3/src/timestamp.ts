/** The `litestream-timestamp` object metadata: the LTX timestamp as Go's RFC3339Nano text (codec in `@sqlrep/replica`). */
export { formatRFC3339Nano, parseRFC3339 } from "@sqlrep/replica";

/** The metadata key (S3 lower-cases user metadata keys; the SDK strips `x-amz-meta-`). */
export const TIMESTAMP_METADATA_KEY = "litestream-timestamp";
