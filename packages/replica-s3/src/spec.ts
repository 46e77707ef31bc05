/** The settings of an S3 replica, as a spec carries them. */
import type { ReplicaSpec } from "@sqlrep/replica";

/** The fields an S3 replica spec may carry. */
export interface S3Spec extends ReplicaSpec {
  /** A bucket name, or an access point ARN (`arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`). */
  bucket?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  forcePathStyle?: boolean | undefined;
  skipVerify?: boolean | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** Multipart part size in bytes. */
  partSize?: number | undefined;
  /** Parts of one upload in flight (default 5; 2 on Cloudflare R2). */
  concurrency?: number | undefined;
  /** `STANDARD`, `STANDARD_IA`, `GLACIER_IR`, … for every object written. */
  storageClass?: string | undefined;
  /** Sign payloads with their SHA-256 (default true); false sends `UNSIGNED-PAYLOAD`. */
  signPayload?: boolean | undefined;
  /** Send `Content-MD5` with DeleteObjects (default true; false on Tigris). */
  requireContentMd5?: boolean | undefined;
  /** SSE-C algorithm (only `AES256`). */
  sseCustomerAlgorithm?: string | undefined;
  /** SSE-C key: 32 bytes, base64. */
  sseCustomerKey?: string | undefined;
  /** A file holding the SSE-C key (base64). */
  sseCustomerKeyPath?: string | undefined;
  /** SSE-KMS key ID, ARN or alias. */
  sseKmsKeyId?: string | undefined;
}
