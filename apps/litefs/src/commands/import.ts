/** `litefs import`: checks a SQLite file with `PRAGMA integrity_check` (LiteFS does not), then posts it to the primary's `/import`. */
import { resolve } from "node:path";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { clientFor, DEFAULT_URL } from "../client/node-client.js";
import { LitefsError, isLitefsError } from "../errors.js";
import { formatMs } from "../client/format.js";
import { readCheckedSqliteFile } from "../client/sqlite-check.js";
import { defineCommand } from "../command.js";

/** `litefs import [-url URL] -name NAME PATH`. */
export const importCommand = defineCommand({
  name: "import",
  summary: "imports a SQLite database into the cluster",
  description: `The import command uploads a SQLite database to a LiteFS cluster. If the named
database does not exist it is created; if it exists it is replaced, as one new
transaction that replicas apply like any other. Safe on a live cluster.

Unlike LiteFS, the file is checked first: it must have a SQLite header, no WAL or
hot journal beside it, and pass PRAGMA integrity_check; a damaged file is refused
and nothing is sent. The target node must be the primary.`,
  synopsis: ["[arguments] PATH"],
  flags: defineFlags({
    url: { type: "string", default: DEFAULT_URL, usage: "LiteFS API URL", placeholder: "URL" },
    name: { type: "string", usage: "database name", placeholder: "NAME" },
  }),
  async run({ flags, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("a PATH to import is required");
    if (positionals.length > 1) throw new UsageError("too many arguments");
    if (flags.name === undefined || flags.name === "") throw new UsageError("-name is required");
    const path = resolve(io.cwd, positionals[0]!);
    const client = clientFor(flags.url, io.env, io.signal);
    const started = performance.now();
    const bytes = readCheckedSqliteFile(path);
    let answer: { txid?: string; checksum?: string };
    try {
      answer = (await (await client.request("POST", `/import?name=${encodeURIComponent(flags.name)}`, bytes)).json()) as typeof answer;
    } catch (err) {
      if (isLitefsError(err, "not-primary")) {
        const primary = await client.info().then(
          (info) => info.primary?.hostname,
          () => undefined,
        );
        throw new LitefsError("not-primary", `${err.message}: import on the primary${primary === undefined ? "" : ` (${primary})`} with -url`, { cause: err, url: client.url });
      }
      throw err;
    }
    const ms = performance.now() - started;
    io.stdout.write(`Import of database ${JSON.stringify(flags.name)} in ${formatMs(ms)}: TXID ${answer.txid ?? "?"}, checksum ${answer.checksum ?? "?"}\n`);
    return 0;
  },
});
