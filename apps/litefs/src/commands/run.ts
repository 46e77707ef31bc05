/**
 * `litefs run`: runs a command with LiteFS's guarantees — `-if-candidate` runs it only
 * on a candidate, `-promote` makes this node the primary first, `-with-halt-lock-on`
 * holds the database's halt lock (byte 72 of `<db>-lock` on the mount) while it runs.
 * Signals go to the child; its exit code is ours.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { defineFlags, runChild, Shutdown, UsageError } from "@sqlrep/runtime";
import { LitefsError } from "../errors.js";
import { takeHaltLock, type HaltLock } from "../client/halt-lock.js";
import { clientFor, DEFAULT_URL } from "../client/node-client.js";
import { defineCommand, type Command } from "../command.js";

/** `litefs run [-url URL] [-promote] [-if-candidate] [-with-halt-lock-on PATH] [-v] -- CMD [ARG...]`. */
const parsedRun = defineCommand({
  name: "run",
  summary: "runs a command as primary, on a candidate, or with the halt lock",
  description: `The run command executes a command with guarantees from LiteFS: -promote makes
this node the primary first (a handoff from the current primary), -if-candidate
skips the command on a node that cannot become primary, and -with-halt-lock-on
holds the halt lock of a database on the mount so the command may write to it on
a replica (the primary is halted and each transaction forwarded to it).

The command gets our stdin, stdout, stderr and signals; its exit code is ours.`,
  synopsis: ["[arguments] -- CMD [ARG...]"],
  flags: defineFlags({
    url: { type: "string", default: DEFAULT_URL, usage: "LiteFS API URL", placeholder: "URL" },
    promote: { type: "boolean", usage: "promote node to primary" },
    "if-candidate": { type: "boolean", usage: "only execute if node is a candidate" },
    "with-halt-lock-on": { type: "string", usage: "full database path (on the mount) to halt", placeholder: "PATH" },
    v: { type: "boolean", usage: "enable verbose logging" },
  }),
  examples: ["# Run migrations on the node that becomes primary", "$ litefs run -promote -if-candidate -- npx prisma migrate deploy"],
  async run({ flags, positionals }, io) {
    if (positionals.length === 0) throw new UsageError("no subcommand specified");
    const log = (msg: string) => flags.v && io.stderr.write(`${msg}\n`);
    const haltOn = flags["with-halt-lock-on"];
    if (flags.promote && haltOn !== undefined) throw new UsageError("cannot specify both -promote and -with-halt-lock-on");
    if (flags["if-candidate"] || flags.promote) {
      const client = clientFor(flags.url, io.env, io.signal);
      log(`fetching node metadata from ${client.url}`);
      const info = await client.info();
      if (flags["if-candidate"] && !info.candidate) {
        io.stderr.write("node is not a candidate, skipping execution\n");
        return 0;
      }
      if (flags.promote) {
        if (info.isPrimary) log("node is already primary, skipping promotion");
        else {
          log("promoting node to primary");
          await client.request("POST", "/promote");
          const after = await client.info();
          if (!after.isPrimary) throw new LitefsError("http", `POST ${client.url}/promote answered, but the node is not the primary now`, { url: client.url });
          log("promotion successful");
        }
      }
    }
    let lock: HaltLock | undefined;
    if (haltOn !== undefined) {
      const db = resolve(io.cwd, haltOn);
      try {
        await stat(db);
      } catch {
        throw new LitefsError("halt", `database does not exist: ${db}`, { file: db });
      }
      const started = performance.now();
      log("acquiring halt lock");
      lock = await takeHaltLock(db, io.signal);
      log(`halt lock acquired in ${(performance.now() - started).toFixed(1)}ms`);
    }
    const shutdown = new Shutdown({ signal: io.signal, onRepeat: () => undefined });
    try {
      const exit = await runChild(positionals, { env: io.env, cwd: io.cwd, shutdown });
      return exit.exitCode;
    } finally {
      shutdown.release();
      if (lock !== undefined) {
        const started = performance.now();
        log("releasing halt lock");
        await lock.release();
        log(`halt lock released in ${(performance.now() - started).toFixed(1)}ms`);
      }
    }
  },
});

/** `litefs run`: as LiteFS, the command must follow a `--`. */
export const runCommand: Command = {
  ...parsedRun,
  run(args, io) {
    const dash = args.indexOf("--");
    const before = dash < 0 ? args : args.slice(0, dash);
    // Go's flag parser stops at the first non-flag word: one before "--" is an error in LiteFS.
    const stray = before.find((a, i) => !a.startsWith("-") && !(i > 0 && takesValue(before[i - 1]!)));
    if (stray !== undefined) return Promise.reject(new UsageError("too many arguments, specify a '--' to specify an exec command"));
    return parsedRun.run(args, io);
  },
};

function takesValue(flag: string): boolean {
  const name = flag.replace(/^--?/, "");
  return !name.includes("=") && (name === "url" || name === "with-halt-lock-on");
}
