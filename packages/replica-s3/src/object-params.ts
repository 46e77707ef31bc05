/** Storage class and server-side encryption: the request parameters they add to each kind of request. */

/** How objects are written and read: storage class and server-side encryption. */
export interface S3ObjectParams {
  storageClass?: string | undefined;
  /** SSE-C: the key (base64 of 32 bytes), sent with every write, read and HEAD (the SDK adds its MD5). */
  customerKey?: string | undefined;
  /** SSE-KMS key for every write. */
  kmsKeyId?: string | undefined;
}

/** SSE-C parameters: what every request touching the object's bytes or metadata must carry. */
export function customerParams(params: S3ObjectParams): { SSECustomerAlgorithm?: string; SSECustomerKey?: string } {
  return params.customerKey === undefined ? {} : { SSECustomerAlgorithm: "AES256", SSECustomerKey: params.customerKey };
}

/** What PutObject and CreateMultipartUpload carry: storage class, SSE-KMS or SSE-C. */
export function writeParams(params: S3ObjectParams): {
  StorageClass?: "STANDARD";
  ServerSideEncryption?: "aws:kms";
  SSEKMSKeyId?: string;
  SSECustomerAlgorithm?: string;
  SSECustomerKey?: string;
} {
  return {
    // The SDK types StorageClass as a union of AWS's names; other providers have their own.
    ...(params.storageClass !== undefined ? { StorageClass: params.storageClass as "STANDARD" } : {}),
    ...(params.kmsKeyId !== undefined ? { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: params.kmsKeyId } : {}),
    ...customerParams(params),
  };
}
