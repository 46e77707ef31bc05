#!/usr/bin/env node
// The layering check of CI: every package imports only packages on a lower layer (DESIGN.md
// "Layers", refined into ranks below), production code never imports the testkit or an app,
// and no two files import each other in a cycle. Exits 1 naming each violation.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * DESIGN.md's layers as ranks (an import must go to a strictly lower rank). Within a
 * layer, a package that builds on another sits one rank up: a backend above its contract.
 */
const RANKS = {
  // I/O helpers and pure formats that import nothing of ours.
  "@sqlrep/page-file": 0,
  "@sqlrep/wal": 0,
  "@sqlrep/config": 0,
  // formats: ltx's bin (`ltx apply`) writes pages through page-file.
  "@sqlrep/ltx": 1,
  // storage contracts
  "@sqlrep/replica": 2,
  "@sqlrep/lease": 2,
  // storage built on them, and the app runtime
  "@sqlrep/replica-*": 3,
  "@sqlrep/lease-*": 3,
  "@sqlrep/shipper": 3,
  // follow: keeps a local SQLite copy up to date from a replica (the shipper's reverse);
  // below the engines, so the cluster's and the VFS's hydration can use it.
  "@sqlrep/follow": 3,
  "@sqlrep/runtime": 3,
  // engines
  "@sqlrep/backup": 5,
  "@sqlrep/cluster": 5,
  "@sqlrep/fuse": 5,
  "@sqlrep/vfs": 5,
  // apps
  "@sqlrep/litestream": 6,
  "@sqlrep/litefs": 6,
  "@sqlrep/litestream-vfs": 6,
  // tools on top
  "@sqlrep/bench": 7,
  "@sqlrep/demo": 7,
  // test helpers: devDependencies only
  "@sqlrep/testkit": 4,
};
const TEST_ONLY = new Set(["@sqlrep/testkit"]);
const APPS = new Set(["@sqlrep/litestream", "@sqlrep/litefs", "@sqlrep/litestream-vfs"]);

function rankOf(name) {
  if (name in RANKS) return RANKS[name];
  for (const [pattern, rank] of Object.entries(RANKS)) if (pattern.endsWith("*") && name.startsWith(pattern.slice(0, -1))) return rank;
  return undefined;
}

const problems = [];
const packages = [];
for (const group of ["packages", "apps", "bench", "demo"]) {
  const base = join(root, group);
  const dirs = group === "packages" || group === "apps" ? readdirSync(base).map((d) => join(base, d)) : [base];
  for (const dir of dirs) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    } catch {
      continue;
    }
    packages.push({ dir, pkg });
  }
}

/** Source files of a package: .ts/.mts/.mjs/.js outside dist and node_modules. */
function sources(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue;
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|js|cjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
    }
  };
  walk(dir);
  return out;
}

/** Test-only code: test files, test helpers (`testing/`, `test/`), fixtures and configs. */
function isTestCode(path) {
  return /\.(test|fuzz|bench)\.[cm]?[jt]s$/.test(path) || /[\\/](testing|test|tests|fixtures|bench)[\\/]/.test(path) || /vitest\.config/.test(path);
}

const IMPORT = /(?:^|[^\w.])(?:import|export)\s+(?:type\s+)?(?:[^"'`;]*?\sfrom\s+)?["']([^"']+)["']|(?:^|[^\w.])import\(\s*["']([^"']+)["']\s*\)/gm;

function importsOf(text) {
  const out = [];
  // Comments can mention imports: drop them first (strings with // are rare in specifiers).
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  for (const m of code.matchAll(IMPORT)) out.push(m[1] ?? m[2]);
  return out;
}

for (const { dir, pkg } of packages) {
  const name = pkg.name;
  const rank = rankOf(name);
  const where = relative(root, dir) || ".";
  if (rank === undefined) {
    problems.push(`${where}: package ${name} has no layer: add it to RANKS in scripts/check-layers.mjs (DESIGN.md "Layers")`);
    continue;
  }
  for (const dep of Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith("@sqlrep/"))) {
    const r = rankOf(dep);
    if (TEST_ONLY.has(dep) && rank < RANKS["@sqlrep/bench"]) problems.push(`${where}/package.json: ${name} depends on ${dep}, which is for tests only (a devDependency)`);
    else if (r === undefined || r >= rank) problems.push(`${where}/package.json: ${name} (layer ${rank}) depends on ${dep} (layer ${r ?? "?"}): dependencies point down only`);
  }
  for (const dep of Object.keys(pkg.devDependencies ?? {}).filter((d) => APPS.has(d))) {
    if (rank < 6) problems.push(`${where}/package.json: package ${name} depends on the app ${dep}`);
  }
  for (const file of sources(dir)) {
    if (isTestCode(file)) continue;
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      if (!spec.startsWith("@sqlrep/")) continue;
      const dep = spec.split("/").slice(0, 2).join("/");
      if (dep === name) continue;
      const r = rankOf(dep);
      const at = relative(root, file);
      if (TEST_ONLY.has(dep) && rank < RANKS["@sqlrep/bench"]) problems.push(`${at}: production code imports ${dep} (tests only)`);
      else if (r === undefined || r >= rank) problems.push(`${at}: ${name} (layer ${rank}) imports ${dep} (layer ${r ?? "?"}): dependencies point down only`);
      else if (!(dep in (pkg.dependencies ?? {})) && !(dep in (pkg.peerDependencies ?? {})) && !TEST_ONLY.has(dep))
        problems.push(`${at}: imports ${dep}, which is not in ${name}'s dependencies`);
    }
  }
}

// File cycles: relative imports (type-only ones too) between the files of a package.
for (const { dir } of packages) {
  const files = sources(dir).filter((f) => !f.endsWith(".js") || !statSync(f.replace(/\.js$/, ".ts"), { throwIfNoEntry: false }));
  const set = new Set(files);
  const edges = new Map();
  for (const file of files) {
    const out = [];
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      const candidates = [target, target.replace(/\.js$/, ".ts"), target.replace(/\.mjs$/, ".mts"), `${target}.ts`, join(target, "index.ts")];
      const hit = candidates.find((c) => set.has(c));
      if (hit) out.push(hit);
    }
    edges.set(file, out);
  }
  for (const cycle of stronglyConnected(files, edges)) {
    problems.push(`import cycle: ${cycle.map((f) => relative(root, f)).join(" → ")} → ${relative(root, cycle[0])}`);
  }
}

/** Tarjan's strongly connected components with more than one file (or a file importing itself). */
function stronglyConnected(nodes, edges) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(scc.reverse());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return out;
}

if (problems.length > 0) {
  console.error(`layering check: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`layering check: ${packages.length} packages, dependencies point down, no import cycles`);
