// Bundles the CLI (dist/cli.js and every workspace package it imports) into
// dist/litestream.js, what `bin` runs: one file to compile instead of ~150 modules to
// resolve and compile, which takes ~0.25 s of CPU and ~18 MiB off every command's start
// (a restore's fixed cost). Code splitting keeps dynamic imports lazy: the S3 package is
// a chunk loaded only for S3 replicas, so a directory restore never loads the AWS SDK.
// Native modules, the AWS SDK, ssh2 (optional native parts), the NATS client (large, and
// lazily loaded anyway) and prom-client (loaded with require() when metrics are first
// made, which a bundler cannot follow) stay external and resolve from this package's
// node_modules (hence they are its own dependencies too).
// The restore worker thread gets its own entry beside the chunks, where
// @sqlrep/replica's restore-workers.ts looks for it.
import { build } from "esbuild";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(app, "package.json"));
const replicaDist = dirname(require.resolve("@sqlrep/replica"));

// Chunk names change with their contents: the last build's would pile up beside the new ones.
for (const name of readdirSync(join(app, "dist"))) if (/^chunk-[A-Z0-9]+\.js$/.test(name)) rmSync(join(app, "dist", name));

await build({
  entryPoints: {
    litestream: join(app, "dist", "cli.js"),
    "restore-worker": join(replicaDist, "restore-worker.js"),
  },
  outdir: join(app, "dist"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["better-sqlite3", "lz4-napi", "@aws-sdk/*", "ssh2", "@nats-io/*", "prom-client"],
  // Chunks beside the entries: version.ts reads ../package.json, restore-workers.ts looks for ./restore-worker.js.
  chunkNames: "chunk-[hash]",
  // CommonJS dependencies (yaml) call require() for Node's built-ins: give every output file one.
  banner: { js: 'import { createRequire as __sqlrepCreateRequire } from "node:module"; const require = __sqlrepCreateRequire(import.meta.url);' },
  logLevel: "warning",
});

// The bin runs Node with a 1 MiB young generation (V8's default grows it to 16 MiB): a
// replicate or restore allocates short-lived buffers steadily, and the larger young
// generation only holds more garbage between scavenges. Measured on a 191 MiB database
// (apps/litestream/README.md, "Memory"): peak RSS of `replicate -once` 114-123 -> 88-96 MiB,
// of an S3 restore 158 -> 128 MiB, at the same CPU. Only a shebang can set it: V8 reads it
// when the heap is created. `node dist/litestream.js` (no shebang) runs without it.
const HASHBANG = "#!/usr/bin/env -S node --max-semi-space-size=1";
const bin = join(app, "dist", "litestream.js");
const code = readFileSync(bin, "utf8");
writeFileSync(bin, code.startsWith("#!") ? `${HASHBANG}${code.slice(code.indexOf("\n"))}` : `${HASHBANG}\n${code}`);
