/** The settings of an S3 replica, as a spec carries them. */
import type { ReplicaSpec } from "@sqlrep/replica";

/** The fields an S3 replica spec may carry. */
export interface S3Spec extends ReplicaSpec {
  bucket?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  forcePathStyle?: boolean | undefined;
  skipVerify?: boolean | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** Multipart part size in bytes. */
  partSize?: number | undefined;
  /** Parts of one upload in flight. */
  concurrency?: number | undefined;
}
