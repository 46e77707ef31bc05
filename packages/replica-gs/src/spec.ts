/** The fields of a GCS replica spec, shared by the SDK-free backend entry and the client. */
import type { ReplicaSpec } from "@sqlrep/replica";

/** The fields a GCS replica spec may carry. */
export interface GsSpec extends ReplicaSpec {
  /** The bucket (`gs://BUCKET/…`). */
  bucket?: string | undefined;
}
