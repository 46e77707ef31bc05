#!/usr/bin/env node
// The benchmark runner: `pnpm bench` (after a build) or `node bench/run.mjs [suite...] [--quick]`.
// Runs each suite of bench/suites/ in its own child process, prints its tables and writes
// bench/results/<suite>.json with the machine and every figure. See bench/README.md.
import { execFileSync, fork } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const benchDir = dirname(fileURLToPath(import.meta.url));
const suitesDir = join(benchDir, "suites");
const resultsDir = join(benchDir, "results");

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const names = args.filter((a) => !a.startsWith("--"));
const available = readdirSync(suitesDir)
  .filter((f) => f.endsWith(".mjs"))
  .map((f) => basename(f, ".mjs"))
  .sort();

if (flags.includes("--help") || flags.includes("--list")) {
  console.log(`usage: node bench/run.mjs [suite...] [--quick]\nsuites: ${available.join(", ")}`);
  process.exit(0);
}
const unknownFlags = flags.filter((f) => f !== "--quick");
const unknown = names.filter((n) => !available.includes(n));
if (unknown.length > 0 || unknownFlags.length > 0) {
  console.error(`unknown ${unknown.length > 0 ? `suite(s) ${unknown.join(", ")}` : `flag(s) ${unknownFlags.join(", ")}`}; suites: ${available.join(", ")}`);
  process.exit(2);
}

const machine = describeMachine();
console.log(`${machine.cpu} × ${machine.cores}, ${machine.ramGiB} GiB RAM, Node ${machine.node}, ${machine.commit}`);

let failed = 0;
mkdirSync(resultsDir, { recursive: true });
for (const name of names.length > 0 ? names : available) {
  const result = await runSuite(name);
  printSuite(result);
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`→ ${file}${result.error ? " (suite failed)" : ""}\n`);
  if (result.error) failed++;
}
process.exit(failed > 0 ? 1 : 0);

function runSuite(name) {
  const started = new Date();
  const result = {
    suite: name,
    machine,
    started: started.toISOString(),
    finished: undefined,
    seconds: undefined,
    loadavg: { before: os.loadavg(), after: undefined },
    quick: flags.includes("--quick"),
    tables: [],
    notes: [],
    error: undefined,
  };
  console.log(`== ${name} (load ${fmtLoad(result.loadavg.before)})`);
  return new Promise((resolve) => {
    const child = fork(join(benchDir, "lib", "child.mjs"), [join(suitesDir, `${name}.mjs`), ...flags], {
      execArgv: ["--expose-gc"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child.on("message", (m) => {
      if (m.type === "row") {
        let table = result.tables.find((t) => t.name === m.table);
        if (table === undefined) result.tables.push((table = { name: m.table, rows: [] }));
        table.rows.push(m.cells);
      } else if (m.type === "note") {
        result.notes.push(m.text);
      } else if (m.type === "error") {
        result.error = m.message;
      }
    });
    child.on("exit", (code, signal) => {
      if (code !== 0 && result.error === undefined) result.error = `suite process exited with ${signal ?? `code ${code}`}`;
      const finished = new Date();
      result.finished = finished.toISOString();
      result.seconds = (finished.getTime() - started.getTime()) / 1000;
      result.loadavg.after = os.loadavg();
      resolve(result);
    });
  });
}

function printSuite(result) {
  for (const table of result.tables) {
    console.log(`\n${table.name}`);
    console.log(formatTable(table.rows));
  }
  for (const note of result.notes) console.log(`note: ${note}`);
  if (result.error) console.log(`FAILED: ${result.error}`);
  console.log(`${result.suite}: ${result.seconds.toFixed(1)} s, load ${fmtLoad(result.loadavg.before)} → ${fmtLoad(result.loadavg.after)}`);
}

/** Columns in order of first appearance; numbers right-aligned to 3 significant digits. */
function formatTable(rows) {
  const columns = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const cells = rows.map((row) => columns.map((c) => fmtCell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const numeric = columns.map((c) => rows.some((r) => typeof r[c] === "number"));
  const line = (values) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

function fmtCell(v) {
  if (v === undefined || v === null) return "";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toPrecision(3);
}

function fmtLoad(l) {
  return l.map((x) => x.toFixed(2)).join(" ");
}

function describeMachine() {
  const cpus = os.cpus();
  let commit = "unknown commit";
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: benchDir, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "packages/ltx", "packages/wal", "bench"], {
      cwd: dirname(benchDir),
      encoding: "utf8",
    }).trim();
    commit = `commit ${head}${dirty ? " + local changes" : ""}`;
  } catch {
    // not a git checkout: the figures still stand, without a commit
  }
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown CPU",
    cores: cpus.length,
    ramGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    commit,
  };
}
