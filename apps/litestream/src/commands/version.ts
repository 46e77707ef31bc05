/** `litestream version`: prints the version as Litestream does; `-verbose` adds runtime, SQLite and platform. */
import { defineCommand } from "../command.js";
import { sqlite } from "../sqlite.js";
import { crc64Addon, lz4Addon, lz4Backend } from "@sqlrep/ltx";
import { defineFlags, UsageError } from "@sqlrep/runtime";
import { VERSION } from "../version.js";

const flags = defineFlags({
  verbose: { type: "boolean", usage: "Also prints the runtime, SQLite and platform versions." },
});

/** `litestream version`: prints `v<version>`, as Litestream does; `-verbose` adds build details. */
export const versionCommand = defineCommand({
  name: "version",
  summary: "prints the binary version",
  description: "Prints the version of this litestream (sqlrep's implementation).",
  synopsis: ["[arguments]"],
  flags,
  async run({ flags, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`too many arguments: ${positionals.join(" ")}`);
    io.stdout.write(`v${VERSION}\n`);
    if (flags.verbose) {
      const Database = sqlite();
      const db = new Database(":memory:");
      const sqliteVersion = (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
      db.close();
      const rows = [
        ["implementation", "sqlrep (TypeScript), Litestream v0.3/v0.5 compatible"],
        ["node", process.execArgv.length > 0 ? `${process.version} (${process.execArgv.join(" ")})` : process.version],
        ["sqlite", sqliteVersion],
        ["platform", `${process.platform}/${process.arch}`],
        ["ltx", "writes LTX v3 with database checksums; reads every version"],
        ["lz4", lz4Line()],
        ["crc64", crc64Line()],
      ];
      for (const [k, v] of rows) io.stdout.write(`${k}: ${v}\n`);
    }
    return 0;
  },
});

/** Which LZ4 code runs here: decoding by the package's addon (else lz4-napi, else JavaScript), encoding by lz4-napi (else JavaScript). */
function lz4Line(): string {
  const addon = lz4Addon();
  const backend = lz4Backend();
  const native = backend.codec === "native";
  const decode = addon.loaded ? "the @sqlrep/ltx addon" : `${native ? "lz4-napi" : "JavaScript"} (${addon.reason})`;
  const encode = native ? "lz4-napi" : `JavaScript (${backend.reason})`;
  return `decode: ${decode}; encode: ${encode}`;
}

/** Which CRC-64 code hashes pages: the addon (with its kernel), else WebAssembly or JavaScript. */
function crc64Line(): string {
  const crc = crc64Addon();
  return crc.loaded ? `the @sqlrep/ltx addon (${crc.kernel})` : `WebAssembly or JavaScript (${crc.reason})`;
}
