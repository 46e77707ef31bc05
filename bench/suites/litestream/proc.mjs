// What /proc says about a process and the machine: CPU seconds (utime + stime of the
// process and of its waited-for children), peak RSS (VmHWM), the load average, and the
// CPU time the whole machine spent busy (to tell how much other work ran meanwhile).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds of `pid` so far: utime + stime + cutime + cstime (all its threads; children it waited for). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces and parentheses): state is field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const field = (n) => Number(fields[n - 3]);
  return (field(14) + field(15) + field(16) + field(17)) / TICKS;
}

/** Peak resident set size of `pid` so far (VmHWM), MiB; undefined once the process is gone. */
export function peakRssMiB(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? undefined : Number(m[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** The three load averages of /proc/loadavg. */
export function loadavg() {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}

/** CPU seconds the whole machine has spent busy (every state of /proc/stat's `cpu` line but idle and iowait). */
export function machineBusySeconds() {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / TICKS;
}
