// Emits the package's sources (tests left out, src/testing/ kept) as JavaScript into
// .test-dist/, so test harnesses and the bench can start node processes on the current
// sources without `pnpm build` first. Transpiling only: `pnpm typecheck` checks the types.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Writes `.test-dist/` and returns its path. */
export function buildTestDist() {
  const ts = createRequire(import.meta.url)("typescript");
  const src = join(packageDir, "src");
  const out = join(packageDir, ".test-dist");
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts")) {
        const js = ts.transpileModule(readFileSync(path, "utf8"), {
          fileName: path,
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
        }).outputText;
        const target = join(out, relative(src, path)).replace(/\.ts$/, ".js");
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, js);
      }
    }
  };
  visit(src);
  writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(buildTestDist());
