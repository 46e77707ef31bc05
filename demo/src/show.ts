/** Console helpers for the demo: headings, steps, and commands shown before they run. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

export function heading(title: string): void {
  console.log(`\n${bold(`== ${title} ==`)}`);
}

export function step(text: string): void {
  console.log(`\n${bold("•")} ${text}`);
}

export function note(text: string): void {
  console.log(`  ${text}`);
}

/**
 * Runs a node bin of this repository, echoing the command line and its output. Never
 * synchronously: the demo's S3 server lives in this process and must keep answering.
 */
export async function run(label: string, script: string, args: string[], options: { quiet?: boolean } = {}): Promise<string> {
  console.log(dim(`  $ ${label} ${args.join(" ")}`));
  const { stdout: out } = await execFileAsync(process.execPath, [script, ...args], { encoding: "utf8", timeout: 120_000 });
  if (!options.quiet) for (const line of out.trimEnd().split("\n")) console.log(`    ${line}`);
  return out;
}

/** Fails the demo loudly: a demo that prints success on a broken feature is worse than none. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`demo check failed: ${what}`);
  console.log(`  ${bold("ok")} ${what}`);
}
