/** `litefs version`: prints the version as LiteFS does. */
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { defineCommand } from "../command.js";
import { VERSION } from "../version.js";

/** `litefs version`: prints `v<version>`. */
export const versionCommand = defineCommand({
  name: "version",
  summary: "prints the version",
  description: "Prints the version of this litefs (sqlrep's implementation).",
  synopsis: [""],
  flags: defineFlags({}),
  async run({ positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`too many arguments: ${positionals.join(" ")}`);
    io.stdout.write(`v${VERSION}\n`);
    return 0;
  },
});
