// Runs conformance children (child.ts) as real processes and collects their events.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { NodeIdentity } from "../contract.js";
import type { ChildEvent } from "./events.js";

const CHILD = fileURLToPath(new URL("./child.js", import.meta.url));

/** One contender process. */
export class Contender {
  readonly events: ChildEvent[] = [];
  readonly stderr: string[] = [];
  private readonly proc: ChildProcess;
  private listeners = new Set<() => void>();
  private exited = false;

  constructor(
    readonly name: string,
    module: string,
    options: unknown,
    node: NodeIdentity,
  ) {
    this.proc = spawn(process.execPath, [CHILD, JSON.stringify({ module, options, node })], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdin!.on("error", () => {});
    createInterface({ input: this.proc.stdout! }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as ChildEvent);
      } catch {
        this.stderr.push(line);
      }
      this.notify();
    });
    createInterface({ input: this.proc.stderr! }).on("line", (line) => {
      this.stderr.push(line);
    });
    this.proc.once("exit", () => {
      this.exited = true;
      this.notify();
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  send(command: Record<string, unknown>): void {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** The first event from index `from` on that matches, within `timeoutMs`. */
  waitFor<E extends ChildEvent["ev"]>(
    ev: E,
    timeoutMs: number,
    where: (e: Extract<ChildEvent, { ev: E }>) => boolean = () => true,
    from = 0,
  ): Promise<Extract<ChildEvent, { ev: E }>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.events.length; i++) {
          const e = this.events[i]!;
          if (e.ev === ev && where(e as Extract<ChildEvent, { ev: E }>)) return done(() => resolve(e as Extract<ChildEvent, { ev: E }>));
          if (e.ev === "error") return done(() => reject(new Error(`${this.name}: ${e.cmd} failed: ${e.code}: ${e.message}`)));
        }
        from = this.events.length;
        if (this.exited) done(() => reject(new Error(`${this.name} exited before "${ev}"${this.tail()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name}: no "${ev}" within ${timeoutMs} ms${this.tail()}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Sends a command and waits for its `done` (or its error). */
  async run(command: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const from = this.events.length;
    this.send(command);
    await this.waitFor("done", timeoutMs, (e) => e.cmd === command["cmd"], from);
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exited) this.proc.kill(sig);
  }

  kill(): void {
    this.signal("SIGCONT");
    this.signal("SIGKILL");
  }

  private tail(): string {
    const lines = [...this.stderr.slice(-10), ...this.events.slice(-5).map((e) => JSON.stringify(e))];
    return lines.length ? `; last output:\n  ${lines.join("\n  ")}` : "";
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
