// Runs one suite in this (child) process and reports to the runner over IPC.
// Usage (by run.mjs only): node --expose-gc bench/lib/child.mjs <suite.mjs> [--quick]
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));
const [suitePath, ...flags] = process.argv.slice(2);
if (process.send === undefined) {
  console.error("bench/lib/child.mjs is started by bench/run.mjs (node bench/run.mjs <suite>)");
  process.exit(2);
}
const send = (message) => process.send(message);

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

let final;
try {
  const suite = await import(pathToFileURL(suitePath).href);
  if (typeof suite.default !== "function") throw new Error(`${suitePath} has no default export function`);
  await suite.default(bench);
  final = { type: "done" };
} catch (err) {
  final = { type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
// Exit once the last message is out, even if the suite left a server or a timer behind.
process.send(final, () => process.exit(final.type === "done" ? 0 : 1));
