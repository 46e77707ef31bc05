/** Whether this machine has a C compiler (`cc`): the package's addon is built only where one is, and its tests say so when they skip. */
import { execFileSync } from "node:child_process";

export const hasCompiler: boolean = (() => {
  try {
    execFileSync("cc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
