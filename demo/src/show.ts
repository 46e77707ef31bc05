/** Console helpers for the demo: headings, steps, and commands shown before they run. */
import { execFileSync } from "node:child_process";

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

/** Runs a node bin of this repository, echoing the command line and its output. */
export function run(label: string, script: string, args: string[], options: { quiet?: boolean } = {}): string {
  console.log(dim(`  $ ${label} ${args.join(" ")}`));
  const out = execFileSync(process.execPath, [script, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (!options.quiet) for (const line of out.trimEnd().split("\n")) console.log(`    ${line}`);
  return out;
}

/** Fails the demo loudly: a demo that prints success on a broken feature is worse than none. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`demo check failed: ${what}`);
  console.log(`  ${bold("ok")} ${what}`);
}
