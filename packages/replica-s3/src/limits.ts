/** S3's multipart limits and Litestream's upload defaults: constants without the SDK, for config validation. */

/** S3's smallest part (all but the last part of a multipart upload). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 ** 3;
/** S3's most parts per upload. */
export const MAX_PARTS = 10_000;
/** Litestream's defaults (the AWS SDK for Go's upload manager): 5 MiB parts, 5 at a time. */
export const DEFAULT_PART_SIZE = MIN_PART_SIZE;
/** Parts of one upload in flight by default (Litestream's `concurrency`). */
export const DEFAULT_CONCURRENCY = 5;
/** The most parts of one upload in flight that a config may ask for. */
export const MAX_CONCURRENCY = 64;
