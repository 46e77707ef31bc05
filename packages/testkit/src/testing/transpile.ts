/** Test helper: plain-JS copies of testkit modules, so a test can run them in a separate `node` process without a fresh build. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const srcDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * Writes plain-JS copies of some testkit modules (`["process", "errors"]`) into `outDir`,
 * so a test can run them in a separate `node` process without depending on a fresh
 * `dist/`. Type-only; no bundling: the modules' relative imports must be listed too.
 */
export function transpileModules(outDir: string, names: readonly string[]): void {
  const ts = require("typescript") as typeof import("typescript");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "package.json"), '{ "type": "module" }\n');
  for (const name of names) {
    const source = readFileSync(join(srcDir, `${name}.ts`), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    writeFileSync(join(outDir, `${name}.js`), outputText);
  }
}
