/** `litefs export`: downloads a consistent copy of a database from any node's `/export` into a temp file, then renames it into place. */
import { createWriteStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { LitefsError, isLitefsError } from "../errors.js";
import { formatMs } from "../client/format.js";
import { clientFor, DEFAULT_URL } from "../client/node-client.js";
import { defineCommand } from "../command.js";

const MAGIC = "SQLite format 3\0";

/** `litefs export [-url URL] -name NAME PATH`. */
export const exportCommand = defineCommand({
  name: "export",
  summary: "exports a database from the cluster to a SQLite file",
  description: `The export command downloads a SQLite database from a LiteFS node (primary or
replica): a consistent copy of one transaction, safe while writes go on. If the
database does not exist on that node an error is returned.

As LiteFS, an existing PATH is replaced and its -journal, -wal and -shm files are
removed. Unlike LiteFS, they are removed only once the new copy is complete: the
download goes to PATH.tmp, is synced, then renamed over PATH.`,
  synopsis: ["[arguments] PATH"],
  flags: defineFlags({
    url: { type: "string", default: DEFAULT_URL, usage: "LiteFS API URL", placeholder: "URL" },
    name: { type: "string", usage: "database name", placeholder: "NAME" },
  }),
  async run({ flags, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("a PATH to export to is required");
    if (positionals.length > 1) throw new UsageError("too many arguments");
    if (flags.name === undefined || flags.name === "") throw new UsageError("-name is required");
    const path = resolve(io.cwd, positionals[0]!);
    const client = clientFor(flags.url, io.env, io.signal);
    const started = performance.now();
    const res = await client.request("GET", `/export?name=${encodeURIComponent(flags.name)}`).catch((err: unknown) => {
      if (isLitefsError(err, "not-found"))
        throw new LitefsError("not-found", `no database ${JSON.stringify(flags.name)} on the node at ${client.url} (${err.message})`, {
          cause: err,
          url: client.url,
          status: err.status,
        });
      throw err;
    });
    const tmp = `${path}.tmp`;
    try {
      const body = res.body === null ? Readable.from([]) : Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
      await pipeline(body, createWriteStream(tmp));
      const size = (await stat(tmp)).size;
      const fh = await open(tmp, "r+");
      try {
        if (size > 0) {
          const head = Buffer.alloc(16);
          await fh.read(head, 0, 16, 0);
          if (head.toString("latin1") !== MAGIC)
            throw new LitefsError("io", `${client.url} sent ${size} bytes for ${flags.name} that are not a SQLite database`, { url: client.url, file: tmp });
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      for (const suffix of ["-journal", "-wal", "-shm"]) await rm(`${path}${suffix}`, { force: true });
      await rename(tmp, path);
      await syncDir(dirname(path));
      io.stdout.write(`Export of database ${JSON.stringify(flags.name)} in ${formatMs(performance.now() - started)}: ${size} bytes to ${path}\n`);
      return 0;
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof LitefsError) throw err;
      throw new LitefsError("io", `exporting ${flags.name} from ${client.url} to ${path} failed: ${(err as Error).message}`, { cause: err, file: path, url: client.url });
    }
  },
});

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
