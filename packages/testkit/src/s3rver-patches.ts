/**
 * Runtime fixes for s3rver 3.7.1, where it differs from S3 in ways our tests depend on.
 *
 * Why patch here rather than wrap only the store's `listObjects`: the listing bugs sit
 * in two layers. The store walks the bucket folder in directory order and does not
 * descend below the first delimiter, so `a/b/` is missing from a delimiter listing when
 * `a/b/` holds only sub-folders; and the controller counts MaxKeys over keys only and
 * derives the continuation token from the last *key*, so a page that ends on (or holds
 * only) common prefixes repeats them or throws. So we replace the listing controller as
 * a whole, after s3rver's own routing, authentication and bucket check have run.
 *
 * How: s3rver's router calls `bucketCtrl.getBucket(ctx)` and `objectCtrl.putObject(ctx)`
 * through the controller modules' export objects at request time, and every store is a
 * `FilesystemStore`; replacing those properties once per process changes every s3rver in
 * it (only the testkit starts any). What changes:
 *
 * - ListObjects v1 and v2: keys in UTF-8 byte order, every distinct common prefix at any
 *   depth, MaxKeys counting keys and common prefixes together, continuation token /
 *   StartAfter / Marker resuming after the last key *or* common prefix of a page.
 * - GetObject ranges: `bytes=0-0` returned the whole object, and a suffix range
 *   (`bytes=-N`) returned the first N+1 bytes.
 * - PutObject / UploadPart with `Content-Encoding: aws-chunked` (the SDK's encoding for
 *   streamed bodies) stored the chunk framing as object bytes.
 * - PutObject wrote in place, so readers saw half-written objects and an upload cut off
 *   by a client left a truncated object behind; it now writes a temporary file and
 *   renames it (a new key appears complete with its metadata, or not at all).
 * - DeleteObject pruned empty folders, which raced with a put or a delete in the same
 *   folder (ENOENT); folders are now left in place (listings only see object files).
 *
 * Not changed (the README lists them as limits): LastModified has whole seconds,
 * conditional writes (If-Match / If-None-Match on PUT) are ignored, checksums sent by
 * the SDK are not verified, `encoding-type=url` is ignored.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pipeline, Transform, type Readable } from "node:stream";
import { pipeline as pipelineAsync } from "node:stream/promises";
import { AwsChunkedDecoder, isAwsChunked, withoutAwsChunked } from "./aws-chunked.js";
import { listPage, sortS3Keys, type ListingPage } from "./s3-listing.js";

type Headers = Record<string, string | string[] | undefined>;
type Metadata = Record<string, string | number>;

/** The slice of s3rver's `S3Object` model used here. */
interface S3ObjectLike {
  bucket: string;
  key: string;
  content: Readable | Buffer | null;
  metadata: Metadata;
  range?: { start: number; end: number };
  readonly size: number;
  readonly lastModifiedDate: Date;
}

/** The slice of s3rver's `FilesystemStore` used here. */
interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Metadata>;
  putMetadata(bucket: string, key: string, metadata: Metadata, md5?: string): Promise<void>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<S3ObjectLike | null>;
  putObject(object: S3ObjectLike): Promise<{ size: number; md5: string }>;
  deleteObject(bucket: string, key: string): Promise<void>;
}

/** The slice of the Koa context s3rver's controllers receive. */
interface S3rverContext {
  params: Record<string, string | undefined>;
  query: Record<string, string | string[] | undefined>;
  headers: Headers;
  req: Readable;
  store: FilesystemStore;
  body: unknown;
}

type Controller = (ctx: S3rverContext) => Promise<void>;

interface S3ErrorConstructor {
  new (code: string, message: string, detail?: Record<string, unknown>): Error;
}

const OBJECT_SUFFIX = "._S3rver_object";
const TOKEN_TAG = "sqlrep1:";
const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

const require = createRequire(import.meta.url);
const s3rverDir = dirname(require.resolve("s3rver/package.json"));
const load = <T>(path: string): T => require(join(s3rverDir, "lib", path)) as T;

let installed = false;

/** Applies the fixes described above, once per process. */
export function installS3rverPatches(): void {
  if (installed) return;
  installed = true;
  const bucketCtrl = load<Record<string, Controller>>("controllers/bucket.js");
  const objectCtrl = load<Record<string, Controller>>("controllers/object.js");
  const S3Error = load<S3ErrorConstructor>("models/error.js");
  const S3Object = load<new (bucket: string, key: string, content: null, metadata: Metadata) => S3ObjectLike>("models/object.js");
  const { DUMMY_ACCOUNT } = load<{ DUMMY_ACCOUNT: { id: number; displayName: string } }>("models/account.js");
  const store = load<{ prototype: FilesystemStore }>("stores/filesystem.js").prototype;

  const invalid = (name: string, value: unknown, message: string) => new S3Error("InvalidArgument", message, { ArgumentName: name, ArgumentValue: value });

  bucketCtrl["getBucket"] = async function listObjects(ctx) {
    const bucket = ctx.params["bucket"] ?? "";
    const query = (name: string) => first(ctx.query[name]);
    const v2 = query("list-type") === "2";
    const prefix = query("prefix") ?? "";
    const delimiter = query("delimiter") ?? "";
    const maxKeysParam = query("max-keys");
    let maxKeys = 1000;
    if (maxKeysParam !== undefined) {
      if (!/^\d+$/.test(maxKeysParam)) throw invalid("max-keys", maxKeysParam, "Provided max-keys not an integer or within integer range");
      maxKeys = Math.min(1000, Number(maxKeysParam));
    }
    const token = v2 ? query("continuation-token") : undefined;
    const after = token !== undefined ? decodeToken(token) : (v2 ? query("start-after") : query("marker")) || undefined;
    if (after === null) throw invalid("continuation-token", token, "The continuation token provided is incorrect");

    const keys = sortS3Keys(await bucketKeys(ctx.store.getBucketPath(bucket), prefix));
    const page: ListingPage = maxKeys === 0 ? { keys: [], commonPrefixes: [], truncated: false, last: undefined } : listPage(keys, { prefix, delimiter, after, maxKeys });
    const objects = await Promise.all(
      page.keys.map((key) =>
        ctx.store.getMetadata(bucket, key).then(
          (metadata) => new S3Object(bucket, key, null, metadata),
          (error: unknown) => (errnoCode(error) === "ENOENT" ? undefined : Promise.reject(error)),
        ),
      ),
    );
    const withOwner = !v2 || query("fetch-owner") === "true";
    const next = page.truncated ? page.last : undefined;
    ctx.body = {
      ListBucketResult: {
        "@": { xmlns: XMLNS },
        Name: bucket,
        Prefix: prefix,
        ...(v2
          ? {
              StartAfter: token === undefined ? query("start-after") : undefined,
              ContinuationToken: token,
              NextContinuationToken: next === undefined ? undefined : encodeToken(next),
              KeyCount: page.keys.length + page.commonPrefixes.length,
            }
          : { Marker: after ?? "", NextMarker: delimiter ? next : undefined }),
        MaxKeys: maxKeys,
        Delimiter: delimiter || undefined,
        IsTruncated: page.truncated,
        Contents: objects.flatMap((object) =>
          object
            ? [
                {
                  Key: object.key,
                  LastModified: object.lastModifiedDate.toISOString(),
                  ETag: object.metadata["etag"],
                  Size: object.size,
                  Owner: withOwner ? { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName } : undefined,
                  StorageClass: "STANDARD",
                },
              ]
            : [],
        ),
        CommonPrefixes: page.commonPrefixes.map((commonPrefix) => ({ Prefix: commonPrefix })),
      },
    };
  };

  const getObject = objectCtrl["getObject"]!;
  objectCtrl["getObject"] = async function getObjectWithSuffixRange(ctx) {
    // The controller parses `bytes=-N` as `bytes=0-N`; turn it into an absolute range.
    const suffix = /^bytes=-(\d+)$/.exec(first(ctx.headers["range"])?.trim() ?? "");
    if (suffix) {
      const metadata = await ctx.store.getMetadata(ctx.params["bucket"] ?? "", ctx.params["key"] ?? "").catch(() => undefined);
      if (metadata) {
        const size = Number(metadata["content-length"]);
        const length = Number(suffix[1]);
        ctx.headers["range"] = `bytes=${length === 0 ? size : Math.max(0, size - length)}-`;
      }
    }
    return getObject(ctx);
  };

  for (const name of ["putObject", "uploadPart"]) {
    const controller = objectCtrl[name]!;
    objectCtrl[name] = async function decodingAwsChunked(ctx) {
      if (isAwsChunked(ctx.headers)) {
        const declared = first(ctx.headers["x-amz-decoded-content-length"]);
        const decoder = new AwsChunkedDecoder(declared === undefined ? undefined : Number(declared));
        // pipeline() forwards an aborted upload to the decoder as an error.
        ctx.req = pipeline(ctx.req, decoder, () => {});
        const encoding = withoutAwsChunked(first(ctx.headers["content-encoding"]));
        if (encoding === undefined) delete ctx.headers["content-encoding"];
        else ctx.headers["content-encoding"] = encoding;
        if (declared !== undefined) ctx.headers["content-length"] = declared;
      }
      return controller(ctx);
    };
  }

  store.getObject = async function getObjectRange(bucket, key, options) {
    // Open first and take the size from the open file, so the length we announce is the
    // length of the bytes we stream even if a put replaces the object meanwhile.
    const handle = await open(this.getResourcePath(bucket, key, "object"), "r").catch((error: unknown) => (errnoCode(error) === "ENOENT" ? undefined : Promise.reject(error)));
    if (!handle) return null;
    try {
      const [stat, metadata] = await Promise.all([handle.stat(), this.getMetadata(bucket, key)]);
      const object = new S3Object(bucket, key, null, {
        ...metadata,
        "content-length": stat.size,
        "last-modified": stat.mtime.toUTCString(),
      });
      let range: { start: number; end: number } | undefined;
      if (options && (options.start !== undefined || options.end !== undefined)) {
        const start = options.start ?? 0;
        range = { start, end: Math.min(options.end ?? stat.size - 1, stat.size - 1) };
        object.range = range;
        // No content tells the controller to answer InvalidRange.
        if (!(start >= 0 && start <= range.end)) {
          await handle.close();
          return object;
        }
      }
      object.content = createReadStream("", { fd: handle, ...range });
      return object;
    } catch (error) {
      await handle.close();
      // Deleted between open and stat: as missing as it would be a moment later.
      if (errnoCode(error) === "ENOENT") return null;
      throw error;
    }
  };

  store.putObject = async function putObjectAtomically(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(objectPath), { recursive: true });
    const temporary = `${objectPath}.${randomBytes(6).toString("hex")}.tmp`;
    const md5 = createHash("md5");
    let size = 0;
    try {
      const content = object.content;
      if (content === null || Buffer.isBuffer(content)) {
        const bytes = content ?? Buffer.alloc(0);
        md5.update(bytes);
        size = bytes.length;
        await writeFile(temporary, bytes);
      } else {
        const measure = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        await pipelineAsync(content, measure, createWriteStream(temporary));
      }
      const digest = md5.digest("hex");
      await this.putMetadata(object.bucket, object.key, object.metadata, digest);
      await rename(temporary, objectPath);
      return { size, md5: digest };
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  };

  store.deleteObject = async function deleteObjectKeepingFolders(bucket, key) {
    await Promise.all(
      ["object", "object.md5", "metadata.json"].map((resource) =>
        unlink(this.getResourcePath(bucket, key, resource)).catch((error: unknown) => {
          if (errnoCode(error) !== "ENOENT") throw error;
        }),
      ),
    );
  };
}

/** Every key under `prefix` in the bucket folder, in no particular order. */
async function bucketKeys(bucketPath: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  const visit = async (dir: string, relative: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => (errnoCode(error) === "ENOENT" ? [] : Promise.reject(error)));
    const folders: Promise<void>[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) {
        const folder = `${relative}${entry.name}/`;
        // Skip s3rver's own folders (multipart uploads) and folders outside the prefix.
        if (!entry.name.includes("._S3rver_") && (folder.startsWith(prefix) || prefix.startsWith(folder))) {
          folders.push(visit(join(dir, entry.name), folder));
        }
      } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
        const key = relative + entry.name.slice(0, -OBJECT_SUFFIX.length);
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
    await Promise.all(folders);
  };
  await visit(bucketPath, "");
  return keys;
}

// Our tokens are opaque to clients, as S3's are; they carry where the next page starts.
function encodeToken(after: string): string {
  return Buffer.from(TOKEN_TAG + after, "utf8").toString("base64");
}

function decodeToken(token: string): string | null {
  const text = Buffer.from(token, "base64").toString("utf8");
  return text.startsWith(TOKEN_TAG) ? text.slice(TOKEN_TAG.length) : null;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
