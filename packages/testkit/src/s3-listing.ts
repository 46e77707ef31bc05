/**
 * S3's listing semantics over a set of keys, kept apart from s3rver so the rules can be
 * read (and tested) on their own. S3 orders keys by their UTF-8 bytes, rolls keys that
 * contain the delimiter after the prefix up into one common prefix each, and counts keys
 * and common prefixes together against MaxKeys.
 */

/** Compares two keys the way S3 orders them: by their UTF-8 bytes. */
export function compareS3Keys(a: string, b: string): number {
  // UTF-8 byte order equals code point order; UTF-16 order (the `<` operator) does not
  // once characters above U+FFFF meet characters in U+E000..U+FFFF.
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Sorts keys in S3 order (returns a new array). */
export function sortS3Keys(keys: Iterable<string>): string[] {
  const withBytes = [...keys].map((key) => ({ key, bytes: Buffer.from(key, "utf8") }));
  withBytes.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return withBytes.map((entry) => entry.key);
}

/** The parameters of one page of a listing. */
export interface ListingRequest {
  prefix: string;
  delimiter: string;
  /** Everything up to and including this key or common prefix has been returned already. */
  after: string | undefined;
  /** Keys plus common prefixes on this page, at most. */
  maxKeys: number;
}

/** One page of a listing, in S3 order. */
export interface ListingPage {
  keys: string[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix on the page: where the next page starts after. */
  last: string | undefined;
}

/** Cuts one page out of `sortedKeys` (sorted with {@link sortS3Keys}). */
export function listPage(sortedKeys: readonly string[], request: ListingRequest): ListingPage {
  const { prefix, delimiter, after, maxKeys } = request;
  const page: ListingPage = { keys: [], commonPrefixes: [], truncated: false, last: undefined };
  const isDone = (item: string) => after !== undefined && compareS3Keys(item, after) <= 0;
  let count = 0;
  for (const key of sortedKeys) {
    if (!key.startsWith(prefix) || isDone(key)) continue;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const item = cut === -1 ? key : key.slice(0, cut + delimiter.length);
    // Keys under one common prefix sit next to each other in sorted order, and a common
    // prefix at or before `after` was on an earlier page (a page can end on one).
    if (item === page.last || isDone(item)) continue;
    if (count === maxKeys) {
      page.truncated = true;
      break;
    }
    (cut === -1 ? page.keys : page.commonPrefixes).push(item);
    page.last = item;
    count += 1;
  }
  return page;
}
