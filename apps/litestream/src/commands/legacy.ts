import { defineCommand } from "../command.js";
import { CliError, CONFIG_FLAGS } from "../context.js";
import { defineFlags } from "../flags.js";
import { ltxCommand } from "./ltx.js";

/** The v0.3 commands that read generations: another part of sqlrep (legacy v0.3 replicas) adds them. */
function comingCommand(name: "generations" | "snapshots", summary: string, description: string) {
  return defineCommand({
    name,
    summary: `${summary} (v0.3 replicas; coming)`,
    description: `${description}\n\nNot available yet: sqlrep reads Litestream v0.3 generations in a later release.\nFor Litestream v0.5 (LTX) replicas use "litestream ltx".`,
    synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
    flags: defineFlags({ ...CONFIG_FLAGS, replica: { type: "string", placeholder: "NAME", usage: "Optional, filters by replica." } }),
    async run() {
      throw new CliError(`the ${name} command (Litestream v0.3 generations) is coming in a later release of sqlrep; for v0.5 (LTX) replicas use "litestream ltx"`);
    },
  });
}

/** `litestream generations` (v0.3): not yet. */
export const generationsCommand = comingCommand("generations", "list available generations for a database", "The generations command lists all generations for a database or replica.");

/** `litestream snapshots` (v0.3): not yet. */
export const snapshotsCommand = comingCommand("snapshots", "list available snapshots for a database", "The snapshots command lists all snapshots available for a database or replica.");

const walFlags = defineFlags({
  ...CONFIG_FLAGS,
  replica: { type: "string", placeholder: "NAME", usage: "Lists the files of this replica of DB_PATH." },
  generation: { type: "string", placeholder: "NAME", usage: "v0.3 generation (not supported yet)." },
  json: { type: "boolean", usage: "Prints JSON instead of a table." },
});

/**
 * `litestream wal`: as in Litestream v0.5, a deprecated alias that lists LTX files
 * (`ltx -level 0`), after a warning. `-generation` (v0.3 WAL segments) comes later.
 */
export const walCommand = defineCommand({
  name: "wal",
  summary: "deprecated: list level-0 LTX files (use ltx)",
  description: 'The wal command is deprecated: WAL segments were replaced by LTX files. It runs "litestream ltx -level 0".',
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags: walFlags,
  async run({ flags, given, positionals }, io) {
    if (given.has("generation")) {
      throw new CliError("listing Litestream v0.3 WAL segments (-generation) is coming in a later release of sqlrep");
    }
    io.stderr.write('warning: the wal command is deprecated; use "litestream ltx" (showing level 0)\n');
    const args = [...[...given].flatMap((name) => flagArgs(name, flags[name as keyof typeof flags])), "-level", "0", "--", ...positionals];
    return ltxCommand.run(args, io);
  },
});

function flagArgs(name: string, value: unknown): string[] {
  return typeof value === "boolean" ? [`-${name}=${value}`] : [`-${name}`, String(value)];
}
