// Transpiles src/ (tests left out, src/testing/ included) to .test-dist/, so the test
// daemon and the benchmark can run the current sources in a separate `node` process
// without a fresh `pnpm build`. Type-only transpilation: `pnpm typecheck` checks types.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Writes .test-dist/ and returns its path. */
export function buildTesting() {
  const ts = createRequire(import.meta.url)("typescript");
  const src = join(root, "src");
  const out = join(root, ".test-dist");
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== "native") walk(path);
        continue;
      }
      if (!entry.endsWith(".ts") || entry.endsWith(".test.ts") || entry.endsWith(".d.ts")) continue;
      const { outputText } = ts.transpileModule(readFileSync(path, "utf8"), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
        fileName: path,
      });
      const target = join(out, relative(src, path)).replace(/\.ts$/, ".js");
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, outputText);
    }
  };
  walk(src);
  writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(buildTesting());
