/**
 * Where LTX files live in a replica: Litestream v0.5's object layout, exactly, so a
 * bucket written by Litestream restores with us and ours with it.
 *
 * - S3 (and S3-compatible): `<prefix>/<level as %04x>/<min>-<max>.ltx`. Litestream
 *   builds the key as `prefix + "/" + …`, so an empty prefix gives a leading `/`;
 *   we write the same keys.
 * - Directories (and every other backend Litestream has): `ltx/<level>/<min>-<max>.ltx`
 *   under the replica path (`<prefix>/ltx/<level>/…` in a bucket or container).
 */

/** Level 0 holds one file per sync; 1…8 are compaction levels; 9 holds snapshots. */
export const SNAPSHOT_LEVEL = 9;
/** The highest compaction level below the snapshot level. */
export const MAX_COMPACTION_LEVEL = 8;

export interface ReplicaLayout {
  /** "s3" (hex level folders) or "directory" (`ltx/<n>/`). */
  readonly flavor: "s3" | "directory";
  /** The key prefix (ending in `/`) under which the files of `level` are listed. */
  levelPrefix(level: number): string;
  /** The key prefix under which a Litestream v0.3 replica keeps `generations/`. */
  readonly legacyRoot: string;
}

/** Litestream's S3 layout under `prefix` (already cleaned: no leading or trailing `/`). */
export function s3Layout(prefix: string): ReplicaLayout {
  const base = cleanPrefix(prefix);
  return {
    flavor: "s3",
    levelPrefix: (level) => `${base}/${level.toString(16).padStart(4, "0")}/`,
    // v0.3 joined paths with Go's path.Join, which drops an empty prefix.
    legacyRoot: base === "" ? "" : `${base}/`,
  };
}

/**
 * Litestream's `ltx/<level>/` layout: keys relative to a directory replica's directory,
 * or, with a `prefix`, full keys of an object store whose replicas Litestream writes with
 * `path.Join(prefix, "ltx", level)` (ABS, GCS, WebDAV, SFTP, NATS): `db/ltx/0/…`.
 */
export function directoryLayout(prefix = ""): ReplicaLayout {
  const base = cleanPrefix(prefix);
  const root = base === "" ? "" : `${base}/`;
  return { flavor: "directory", levelPrefix: (level) => `${root}ltx/${level}/`, legacyRoot: root };
}

/**
 * Cleans a replica path the way Litestream does: `/`-joined, no `.` or empty
 * segments, `..` resolved, no leading or trailing slash.
 */
export function cleanPrefix(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}
