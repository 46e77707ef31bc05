import { defineCommand } from "../command.js";
import { CONFIG_FLAGS } from "../context.js";
import { defineFlags } from "@sqlrep/runtime";
import { listLegacySegments } from "./generations.js";
import { ltxCommand } from "./ltx.js";

const walFlags = defineFlags({
  ...CONFIG_FLAGS,
  replica: { type: "string", placeholder: "NAME", usage: "Lists the files of this replica of DB_PATH." },
  generation: { type: "string", placeholder: "NAME", usage: "Lists the WAL segments of this Litestream v0.3 generation instead." },
  json: { type: "boolean", usage: "Prints JSON instead of a table." },
});

/**
 * `litestream wal`: as in Litestream v0.5, a deprecated alias that lists LTX files
 * (`ltx -level 0`), after a warning; with `-generation`, v0.3.13's listing of that
 * generation's WAL segments.
 */
export const walCommand = defineCommand({
  name: "wal",
  summary: "deprecated: list level-0 LTX files (use ltx)",
  description: 'The wal command is deprecated: WAL segments were replaced by LTX files. It runs "litestream ltx -level 0".',
  synopsis: ["[arguments] DB_PATH", "[arguments] REPLICA_URL"],
  flags: walFlags,
  async run({ flags, given, positionals }, io) {
    if (given.has("generation")) return listLegacySegments(flags.generation!, { flags, given, positionals }, io);
    io.stderr.write('warning: the wal command is deprecated; use "litestream ltx" (showing level 0)\n');
    const args = [...[...given].flatMap((name) => flagArgs(name, flags[name as keyof typeof flags])), "-level", "0", "--", ...positionals];
    return ltxCommand.run(args, io);
  },
});

function flagArgs(name: string, value: unknown): string[] {
  return typeof value === "boolean" ? [`-${name}=${value}`] : [`-${name}`, String(value)];
}
