/** Tests of spawnProcess with real child processes: readiness checks, stop and kill of whole process groups, cleanup when the test process ends. */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { TestkitError } from "./errors.js";
import { freePort } from "./ports.js";
import { spawnProcess, stopAllProcesses } from "./process.js";
import { tempDir } from "./temp.js";
import { transpileModules } from "./testing/transpile.js";
import { waitFor } from "./wait.js";

const TIMEOUT = 20_000;
const node = process.execPath;

/** Whether `pid` is a running process (a zombie counts as gone: it only waits to be reaped). */
function isRunning(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    // The state follows the parenthesised command name.
    return readFileSync(stat, "utf8").replace(/^.*\) /s, "")[0] !== "Z";
  } catch {
    return false;
  }
}

const gone = (pid: number) => waitFor(() => !isRunning(pid), { timeoutMs: 5_000, message: `pid ${pid} to exit` });

/** A shell whose leader and background child both sleep; prints "LEADER CHILD" pids. */
const family = ["-c", "sleep 1000 & echo $$ $!; exec sleep 1000"];

async function pidsOf(handle: { waitForLine(pattern: RegExp): Promise<string> }): Promise<number[]> {
  return (await handle.waitForLine(/^\d+ \d+$/)).split(" ").map(Number);
}

afterAll(() => stopAllProcesses());

describe("spawnProcess", () => {
  it(
    "is ready when a line matches, and keeps stdout and stderr",
    async () => {
      const child = await spawnProcess(node, ["-e", "console.error('starting'); setTimeout(() => console.log('listening on 4242'), 100); setInterval(() => {}, 1000)"], {
        ready: /listening on (\d+)/,
      });
      expect(child.output()).toEqual(["starting", "listening on 4242"]);
      expect(child.name).toBe("node");
      await child.stop();
    },
    TIMEOUT,
  );

  it(
    "is ready when a URL answers, or a port accepts connections",
    async () => {
      const port = await freePort();
      const server = `setTimeout(() => require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1'), 200)`;
      const byUrl = await spawnProcess(node, ["-e", server], { ready: { url: `http://127.0.0.1:${port}/health` }, name: "by-url" });
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
      await byUrl.stop();
      const byPort = await spawnProcess(node, ["-e", server], { ready: { port }, name: "by-port" });
      expect(byPort.exitStatus).toBeUndefined();
      await byPort.stop();
    },
    TIMEOUT,
  );

  it(
    "reports an exit before readiness with the code and the last lines",
    async () => {
      const failing = spawnProcess(node, ["-e", "console.log('loading config'); console.error('error: bad config key \"foo\"'); process.exit(3)"], {
        ready: { port: await freePort() },
        name: "daemon",
      });
      const error = await failing.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TestkitError);
      expect(error).toMatchObject({ code: "PROCESS_EXITED" });
      expect((error as TestkitError).message).toMatch(/daemon \(pid \d+\) exited with code 3/);
      expect((error as TestkitError).message).toContain('error: bad config key "foo"');
      expect((error as TestkitError).output).toEqual(["loading config", 'error: bad config key "foo"']);
    },
    TIMEOUT,
  );

  it(
    "kills a process that is not ready in time, and says so",
    async () => {
      const error = (await spawnProcess(node, ["-e", "console.log(process.pid); setInterval(() => {}, 1000)"], {
        ready: /never/,
        readyTimeoutMs: 300,
      }).catch((e: unknown) => e)) as TestkitError;
      expect(error).toMatchObject({ code: "NOT_READY" });
      expect(error.message).toContain("/never/");
      await gone(Number(error.output[0]));
    },
    TIMEOUT,
  );

  it("fails to spawn a missing program with SPAWN_FAILED", async () => {
    await expect(spawnProcess("/nonexistent/program")).rejects.toMatchObject({ code: "SPAWN_FAILED" });
  });

  it(
    "kill() takes the grandchildren with it",
    async () => {
      const shell = await spawnProcess("sh", family);
      const [leader, child] = await pidsOf(shell);
      expect(leader).toBe(shell.pid);
      expect(isRunning(child!)).toBe(true);
      shell.kill();
      expect(await shell.exited).toEqual({ code: null, signal: "SIGKILL" });
      await gone(child!);
    },
    TIMEOUT,
  );

  it(
    "stop() escalates to SIGKILL when SIGTERM is ignored",
    async () => {
      const stubborn = await spawnProcess(node, ["-e", "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000)"], {
        ready: /^up$/,
      });
      const status = await stubborn.stop(300);
      expect(status).toEqual({ code: null, signal: "SIGKILL" });
      expect(stubborn.output()).toContain("ignoring SIGTERM");
    },
    TIMEOUT,
  );

  it(
    "stop() lets a process shut down on SIGTERM, then kills what it left behind",
    async () => {
      const shell = await spawnProcess("sh", family);
      const [, child] = await pidsOf(shell);
      expect(await shell.stop()).toEqual({ code: null, signal: "SIGTERM" });
      await gone(child!);
      expect(await shell.stop()).toEqual({ code: null, signal: "SIGTERM" });
    },
    TIMEOUT,
  );

  it(
    "waits for later lines, counts from a line, and rejects when the process exits",
    async () => {
      const counter = await spawnProcess(node, [
        "-e",
        "let i = 0; const t = setInterval(() => { console.log('tick ' + ++i); if (i === 5) { clearInterval(t); process.exitCode = 0 } }, 30)",
      ]);
      expect(await counter.waitForLine("tick 2")).toBe("tick 2");
      expect(await counter.waitForLine(/^tick \d$/, 5_000, 3)).toBe("tick 4");
      await expect(counter.waitForLine("tick 9")).rejects.toMatchObject({ code: "PROCESS_EXITED" });
      expect(await counter.exited).toEqual({ code: 0, signal: null });
      expect(counter.output()).toEqual(["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"]);
    },
    TIMEOUT,
  );

  it(
    "passes stdin, environment and working directory",
    async () => {
      using dir = tempDir();
      const child = await spawnProcess(
        node,
        [
          "-e",
          "process.stdin.on('data', d => console.log('in:' + d.toString().trim() + ' ' + process.env.SQLREP_X + ' ' + process.cwd() + ' ' + (process.env.HOME === undefined)))",
        ],
        { stdin: "hello\n", env: { SQLREP_X: "x1", HOME: undefined }, cwd: dir.path },
      );
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(child.output()).toEqual([`in:hello x1 ${dir.path} true`]);

      const cat = await spawnProcess("cat", [], { stdin: "pipe" });
      cat.stdin!.write("one\ntwo\n");
      expect(await cat.waitForLine("two")).toBe("two");
      cat.stdin!.end();
      expect(await cat.exited).toEqual({ code: 0, signal: null });
    },
    TIMEOUT,
  );

  it(
    "waitForLine times out with the output so far",
    async () => {
      const quiet = await spawnProcess(node, ["-e", "console.log('only this'); setInterval(() => {}, 1000)"]);
      // Node may take longer than the timeout below to start on a loaded machine.
      await quiet.waitForLine("only this", 20_000);
      const error = (await quiet.waitForLine("never", 200).catch((e: unknown) => e)) as TestkitError;
      expect(error).toMatchObject({ code: "TIMEOUT" });
      expect(error.output).toEqual(["only this"]);
      await quiet.stop();
    },
    TIMEOUT,
  );
});

describe("cleanup when the test process ends", () => {
  const kit = tempDir("sqlrep-kit-");
  transpileModules(kit.path, ["process", "errors", "ports"]);
  afterAll(() => kit.remove());

  // A stand-in for a test process: starts a family of processes, then ends as told.
  const driver = (ending: string) => `
    import { spawnProcess } from ${JSON.stringify(kit.join("process.js"))};
    const shell = await spawnProcess("sh", ${JSON.stringify(family)});
    console.log(await shell.waitForLine(/^\\d+ \\d+$/));
    ${ending}
  `;

  it.each([
    ["process.exit()", "process.exit(0);", { code: 0, signal: null }],
    ["an uncaught exception", "setTimeout(() => { throw new Error('crash') }, 10);", { code: 1, signal: null }],
    ["an unhandled rejection", "Promise.reject(new Error('crash'));", { code: 1, signal: null }],
    ["SIGTERM", "process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000);", { code: null, signal: "SIGTERM" }],
    ["SIGINT", "process.kill(process.pid, 'SIGINT'); setInterval(() => {}, 1000);", { code: null, signal: "SIGINT" }],
  ])(
    "kills every child on %s",
    async (_what, ending, status) => {
      const testProcess = await spawnProcess(node, ["--input-type=module", "-e", driver(ending)]);
      const [leader, child] = (await testProcess.waitForLine(/^\d+ \d+$/)).split(" ").map(Number);
      expect(await testProcess.exited).toEqual(status);
      await gone(leader!);
      await gone(child!);
    },
    TIMEOUT,
  );
});
