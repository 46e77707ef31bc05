// Runs one suite in this (child) process and reports to the runner over IPC.
// Usage (by run.mjs only): node --expose-gc bench/lib/child.mjs <suite.mjs> [--quick]
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));
const [suitePath, ...flags] = process.argv.slice(2);
const send = (message) => process.send?.(message);

const scratch = mkdtempSync(join(tmpdir(), "sqlrep-bench-"));
const cache = join(benchDir, ".cache");
mkdirSync(cache, { recursive: true });

/** The context every suite's default export receives (bench/README.md, "Suite contract"). */
const bench = {
  quick: flags.includes("--quick"),
  scratch,
  cache,
  repo: dirname(benchDir),
  row(table, cells) {
    send({ type: "row", table, cells });
  },
  note(text) {
    send({ type: "note", text });
  },
  log(text) {
    process.stderr.write(`  ${text}\n`);
  },
};

try {
  const suite = await import(pathToFileURL(suitePath).href);
  if (typeof suite.default !== "function") throw new Error(`${suitePath} has no default export function`);
  await suite.default(bench);
  send({ type: "done" });
} catch (err) {
  send({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
