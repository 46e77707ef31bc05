// The exec child runner with real child processes: exit codes, a signal's exit code, a command
// that cannot start, and signals forwarded by a Shutdown while the child runs.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { isRuntimeError } from "./errors.js";
import { exitCodeOf, runChild } from "./exec.js";
import { Shutdown, type SignalSource } from "./shutdown.js";

const node = process.execPath;

/** Signals delivered by the test instead of the OS: the test process must not get real ones. */
class TestSignals extends EventEmitter implements SignalSource {
  deliver(sig: NodeJS.Signals): void {
    this.emit(sig, sig);
  }
}

describe("runChild", () => {
  it("resolves with the child's exit status, with our environment and working directory", async () => {
    const script = "process.exit(process.env.CODE === '5' && process.cwd() === '/tmp' ? 5 : 1)";
    expect(await runChild([node, "-e", script], { env: { ...process.env, CODE: "5" }, cwd: "/tmp", stdio: "ignore" })).toEqual({ code: 5, signal: null, exitCode: 5 });
  });

  it("a child ended by a signal exits 128 + its number, as a shell reports it", async () => {
    expect(await runChild([node, "-e", "process.kill(process.pid, 'SIGKILL')"], { stdio: "ignore" })).toEqual({ code: null, signal: "SIGKILL", exitCode: 137 });
    expect(exitCodeOf(null, "SIGTERM")).toBe(143);
    expect(exitCodeOf(0, null)).toBe(0);
  });

  it("a command that cannot start is RuntimeError exec naming it", async () => {
    const err = await runChild(["/nonexistent/sqlrep-no-such-command", "x"]).catch((e: unknown) => e);
    expect(isRuntimeError(err, "exec")).toBe(true);
    expect((err as Error).message).toBe('cannot run exec command "/nonexistent/sqlrep-no-such-command": spawn /nonexistent/sqlrep-no-such-command ENOENT');
    await expect(runChild([])).rejects.toThrow("the exec command is empty");
  });

  it("forwards every signal to the child while it runs; its exit code is the result", async () => {
    const signals = new TestSignals();
    const controller = new AbortController();
    const shutdown = new Shutdown({ signal: controller.signal, source: signals, onRepeat: () => expect.fail("no repeat while a child runs") });
    // The child counts SIGTERMs and exits 40 + their count on SIGINT.
    const script =
      "let n = 0; process.on('SIGTERM', () => process.stdout.write(`term${++n}\\n`)); process.on('SIGINT', () => process.exit(40 + n)); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);";
    const running = runChild([node, "-e", script], { shutdown, stdio: "pipe" });
    await until(() => shutdown.child !== undefined);
    const child = shutdown.child as unknown as { stdout: NodeJS.ReadableStream };
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await until(() => out.includes("ready\n"));
    // One at a time: a signal sent while the same one is pending would be merged into it.
    signals.deliver("SIGTERM");
    await until(() => out.includes("term1\n"));
    signals.deliver("SIGTERM");
    await until(() => out.includes("term2\n"));
    signals.deliver("SIGINT");
    expect(await running).toEqual({ code: 42, signal: null, exitCode: 42 });
    expect(shutdown.child).toBeUndefined();
    shutdown.release();
  });
});

describe("Shutdown", () => {
  it("resolves with the first signal (the CLI aborts its controller) and exits on the second", async () => {
    const signals = new TestSignals();
    const controller = new AbortController();
    const repeats: string[] = [];
    const shutdown = new Shutdown({ signal: controller.signal, source: signals, onRepeat: (sig) => repeats.push(sig) });
    signals.deliver("SIGINT");
    controller.abort("SIGINT");
    expect(await shutdown.requested).toBe("SIGINT");
    expect(repeats).toEqual([]);
    signals.deliver("SIGTERM");
    expect(repeats).toEqual(["SIGTERM"]);
    shutdown.release();
    signals.deliver("SIGTERM");
    expect(repeats).toEqual(["SIGTERM"]); // released: the CLI's own handlers decide again
    expect(signals.listenerCount("SIGTERM")).toBe(0);
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
