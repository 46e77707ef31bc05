/** Test helper: a real SQLite writer in its own child process (a second connection, as an application has), driven over stdin/stdout. */
import { fileURLToPath } from "node:url";
import { spawnProcess, type ProcessHandle } from "@sqlrep/testkit";

const SCRIPT = fileURLToPath(new URL("./writer-child.mjs", import.meta.url));

/** A writer in its own process (a real second SQLite client), driven over stdin/stdout. */
export class Writer {
  private id = 0;

  private constructor(private readonly handle: ProcessHandle) {}

  /** Starts the process and opens `path` in WAL mode (`journalMode` to override) with `pageSize`. */
  static async open(path: string, options: { pageSize?: number; autocheckpoint?: number; journalMode?: string } = {}): Promise<Writer> {
    const handle = await spawnProcess(process.execPath, [SCRIPT], { name: "writer", stdin: "pipe", ready: /^ready$/ });
    const writer = new Writer(handle);
    await writer.request("open", { path, ...options });
    return writer;
  }

  /** Sends one request and resolves with its result (rejects with the child's error). */
  async request<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = ++this.id;
    const from = this.handle.output().length;
    this.handle.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    const line = await this.handle.waitForLine((l) => l.startsWith(`{"id":${id},`), timeoutMs, Math.max(0, from - 5));
    const reply = JSON.parse(line) as { ok: boolean; result: T; error?: string };
    if (!reply.ok) throw new Error(`writer ${op} failed: ${reply.error}`);
    return reply.result;
  }

  exec(sql: string): Promise<boolean> {
    return this.request("exec", { sql });
  }

  /** `count` transactions of `rows` rows each; resolves with the highest rowid. */
  insert(count = 1, options: { rows?: number; size?: number; table?: string } = {}): Promise<number> {
    return this.request("insert", { count, ...options });
  }

  checkpoint(mode: "PASSIVE" | "FULL" | "RESTART" | "TRUNCATE"): Promise<{ busy: number; log: number; checkpointed: number }[]> {
    return this.request("pragma", { sql: `wal_checkpoint(${mode})` });
  }

  async close(): Promise<void> {
    await this.request("close").catch(() => undefined);
    this.handle.stdin!.end();
    await this.handle.stop(5000);
  }
}
