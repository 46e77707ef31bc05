/**
 * READMEs whose usage example runs: the first ```js block of a package's README, its
 * imports pointed at the built packages (resolved from the package, as its users would),
 * run with Node in a temp directory; and what the README says it prints.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

/** A package's README example, ready to run. */
export interface ReadmeExample {
  readonly packageDir: string;
  /** The example's code, as the README has it. */
  readonly code: string;
  /** The block after "It prints:", if the README has one. */
  readonly printed: string | undefined;
  /** Why it cannot run here (the package or a package it imports is not built), else undefined. */
  readonly unbuilt: string | undefined;
}

/** The README example of the package a test file (`import.meta.url`) belongs to (tests live in `<package>/src/`). */
export function readmeExample(testFileUrl: string): ReadmeExample {
  const packageDir = join(dirname(fileURLToPath(testFileUrl)), "..");
  const readme = readFileSync(join(packageDir, "README.md"), "utf8");
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (code === undefined) throw new Error(`${packageDir}/README.md has no \`\`\`js usage example`);
  const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
  let unbuilt: string | undefined;
  for (const spec of bareImports(code)) {
    const path = resolveFrom(packageDir, spec);
    if (path === undefined || !existsSync(path)) unbuilt ??= `needs a build of ${spec} (not found from ${packageDir})`;
  }
  return { packageDir, code, printed, unbuilt };
}

/**
 * Runs an example with Node and resolves with what it printed (stdout); rejects with its
 * stderr when it fails. Asynchronous, so servers in the test's own process keep answering.
 */
export async function runReadmeExample(example: ReadmeExample, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  let script = example.code;
  for (const spec of bareImports(script)) {
    const path = resolveFrom(example.packageDir, spec);
    if (path !== undefined) script = script.replaceAll(`from "${spec}"`, `from ${JSON.stringify(pathToFileURL(path).href)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "sqlrep-readme-"));
  try {
    const file = join(dir, "example.mjs");
    writeFileSync(file, script);
    const { stdout } = await promisify(execFile)(process.execPath, ["--no-warnings", file], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 60_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`the README example of ${example.packageDir} failed: ${e.stderr || e.message}`, { cause: err });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Module specifiers of the example's imports that are packages (not `node:` built-ins or paths). */
function bareImports(code: string): string[] {
  const specs = [...code.matchAll(/\sfrom\s+"([^"]+)"/g)].map((m) => m[1]!);
  return [...new Set(specs.filter((s) => !s.startsWith("node:") && !s.startsWith(".") && !s.startsWith("/") && !s.startsWith("file:")))];
}

/** Where a package import resolves from a package directory (its own name too, through its exports). */
function resolveFrom(packageDir: string, spec: string): string | undefined {
  try {
    return createRequire(join(packageDir, "package.json")).resolve(spec);
  } catch {
    return undefined;
  }
}
