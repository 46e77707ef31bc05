#!/usr/bin/env node
/**
 * `ltx`: inspect, verify and apply LTX files. Exit codes: 0 success, 1 a fault
 * (invalid file, checksum mismatch, I/O error; one line naming the file and
 * offset), 2 bad arguments (with the usage).
 */
import { isLtxError } from "../errors.js";
import { stdout, UsageError, type Output } from "./cli.js";
import { apply, applyUsage } from "./commands/apply.js";
import { checksum, checksumUsage } from "./commands/checksum.js";
import { dump, dumpUsage } from "./commands/dump.js";
import { encodeDb, encodeDbUsage } from "./commands/encode-db.js";
import { list, listUsage } from "./commands/list.js";
import { verify, verifyUsage } from "./commands/verify.js";

// `ltx dump --json | head`: the reader went away, which is how such a pipe ends, not a fault.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const stderr: Output = { line: (text = "") => void process.stderr.write(`${text}\n`) };

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; usage: string; about: string }> = {
  dump: { run: (a) => dump(a, stdout), usage: dumpUsage, about: "header, pages with checksums, page index and trailer (--json)" },
  verify: { run: (a) => verify(a, stdout, stderr), usage: verifyUsage, about: "fully decode files; exit 0 only if all are valid" },
  list: { run: (a) => list(a, stdout), usage: listUsage, about: "LTX files of a directory: TXID ranges, sizes, timestamps, contiguity" },
  checksum: { run: (a) => checksum(a, stdout), usage: checksumUsage, about: "database checksum of a SQLite file" },
  apply: { run: (a) => apply(a, stdout), usage: applyUsage, about: "apply LTX files in order to a database file" },
  "encode-db": { run: (a) => encodeDb(a, stdout), usage: encodeDbUsage, about: "snapshot a SQLite database file into an LTX file" },
};

function usage(): string {
  const lines = ["usage:"];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${c.usage}`, `      ${name}: ${c.about}`);
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? stderr : stdout).line(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.line(`ltx: ${err.message}`);
      stderr.line(command === undefined ? usage() : `usage: ${command.usage}`);
      return 2;
    }
    stderr.line(`ltx ${name}: ${isLtxError(err) || err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
