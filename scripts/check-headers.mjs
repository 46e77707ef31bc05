// CI check (issue 14 §7): every source file in git opens with a comment saying what it is
// for. Lists the files that do not and exits 1; declaration files and configs are exempt.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const files = execFileSync("git", ["ls-files", "*.ts", "*.mjs", "*.js", "*.c", "*.h"], { encoding: "utf8" })
  .split("\n")
  .filter((f) => f !== "" && !/(^|\/)(dist|node_modules)\//.test(f) && !f.endsWith(".d.ts") && !/vitest\.config|biome/.test(f));
const bare = files.filter((f) => {
  const first = readFileSync(f, "utf8")
    .split("\n")
    .find((l) => l.trim() !== "" && !l.startsWith("#!"));
  return first !== undefined && !/^\s*(\/\*|\/\/|\*)/.test(first);
});
if (bare.length > 0) {
  console.error(`header check: ${bare.length} source file(s) do not open with a comment saying what they are for:\n  ${bare.join("\n  ")}`);
  process.exit(1);
}
console.log(`header check: ${files.length} source files, each opens with what it is for`);
