// A lease contender in its own process, driven by the conformance suite: commands come as
// JSON lines on stdin, events go out as JSON lines on stdout (see events.ts).
// Usage: node child.js '{"module": "/abs/leaser-module.mjs", "options": {...}, "node": {...}}'
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { Lease, Leaser, NodeIdentity, PrimaryInfo } from "../contract.js";
import { isLeaseError } from "../errors.js";
import { monotonicNow, type ChildEvent } from "./events.js";

interface Args {
  module: string;
  options: unknown;
  node: NodeIdentity;
}

type Command =
  | { cmd: "acquire" }
  | { cmd: "acquire-existing"; id: string }
  | { cmd: "contend"; forMs?: number; holdMs?: [number, number] }
  | { cmd: "watch" }
  | { cmd: "release" }
  | { cmd: "handoff"; to: string }
  | { cmd: "status" }
  | { cmd: "close" };

type Event = ChildEvent extends infer E ? (E extends { t: number } ? Omit<E, "t"> : never) : never;

const ACT_EVERY_MS = 20;

function emit(event: Event): void {
  process.stdout.write(`${JSON.stringify({ ...event, t: monotonicNow() })}\n`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? "{}") as Args;
  const mod = (await import(pathToFileURL(args.module).href)) as { createLeaser(options: unknown, node: NodeIdentity): Promise<Leaser> };
  const leaser = await mod.createLeaser(args.options, args.node);
  let lease: Lease | undefined;
  let lastLease: Lease | undefined;
  let holdTimer: NodeJS.Timeout | undefined;
  // Latest primary seen by the watch, and a wake-up for whoever waits on a change.
  let primary: PrimaryInfo | undefined | null = null;
  let changed: () => void = () => {};
  let watching = false;

  const hold = (held: Lease) => {
    lease = held;
    lastLease = held;
    emit({ ev: "acquired", epoch: held.epoch, id: held.id });
    held.signal.addEventListener("abort", () => {
      const reason = held.signal.reason as { code?: string; message?: string };
      emit({ ev: "stepped-down", epoch: held.epoch, reason: reason?.code ?? "?", message: reason?.message ?? String(reason) });
      clearInterval(actor);
      if (lease === held) lease = undefined;
      changed();
    });
    // "Acting as primary": only while the signal says so, checked right before each act.
    const actor = setInterval(() => {
      if (!held.signal.aborted) emit({ ev: "act", epoch: held.epoch });
    }, ACT_EVERY_MS);
  };

  const startWatch = () => {
    if (watching) return;
    watching = true;
    void (async () => {
      for await (const p of leaser.watchPrimary()) {
        primary = p;
        emit({ ev: "primary", hostname: p?.hostname ?? null, epoch: p?.epoch ?? null });
        changed();
      }
    })().catch((error: unknown) => emit({ ev: "error", cmd: "watch", code: (error as { code?: string }).code ?? "?", message: String(error) }));
  };

  const waitForChange = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      changed = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const release = async () => {
    const held = lease;
    if (!held) return;
    clearTimeout(holdTimer);
    emit({ ev: "releasing", epoch: held.epoch });
    await held.release();
    emit({ ev: "released", epoch: held.epoch });
  };

  // Contend: acquire when the watch says nobody holds the lease; hold for holdMs (or
  // until told otherwise), release, go again.
  const contend = async (command: Extract<Command, { cmd: "contend" }>) => {
    startWatch();
    const until = command.forMs === undefined ? Infinity : Date.now() + command.forMs;
    while (Date.now() < until) {
      if (lease) {
        await waitForChange(Math.max(1, Math.min(until - Date.now(), 60_000)));
        continue;
      }
      try {
        hold(await leaser.acquire());
        if (command.holdMs) {
          const [min, max] = command.holdMs;
          await sleep(min + Math.random() * (max - min));
          if (lease) await release();
          await sleep(Math.random() * 20);
        }
      } catch (error) {
        if (isLeaseError(error, "primary-exists") || isLeaseError(error, "lock-delay")) {
          emit({ ev: "busy", code: error.code, primary: error.primary?.hostname });
          if (error.retryAfterMs !== undefined) await sleep(error.retryAfterMs);
          // Wait for the watch to report a change; the timeout only guards a stuck watch.
          else if (primary === undefined)
            await sleep(5); // the watch has not caught up yet
          else await waitForChange(Math.max(1, Math.min(until - Date.now(), 2 * leaser.ttlMs)));
        } else {
          emit({ ev: "error", cmd: "contend", code: (error as { code?: string }).code ?? "?", message: String(error) });
          await sleep(100);
        }
      }
    }
    if (command.forMs !== undefined) await release();
  };

  const run = async (command: Command) => {
    switch (command.cmd) {
      case "acquire":
        hold(await leaser.acquire());
        return;
      case "acquire-existing":
        hold(await leaser.acquireExisting(command.id));
        return;
      case "contend":
        await contend(command);
        return;
      case "watch":
        startWatch();
        return;
      case "release":
        await release();
        return;
      case "handoff": {
        const held = lease;
        if (!held) throw new Error("handoff: no lease held");
        const ticket = await held.handoff(command.to);
        emit({ ev: "handed-off", epoch: held.epoch, leaseId: ticket.leaseId });
        return;
      }
      case "status": {
        // The last lease, even once ended: a resumed holder must find its signal fired.
        const held = lastLease;
        // Read the signal first: reading it consults the clock and may fire it now (a holder
        // resumed past its deadline), which ends `lease` in the abort listener.
        const aborted = held ? held.signal.aborted : null;
        emit({ ev: "status", holding: lease !== undefined, aborted, epoch: held?.epoch ?? null });
        return;
      }
      case "close":
        await leaser.close();
        emit({ ev: "done", cmd: "close" });
        process.exit(0);
    }
  };

  createInterface({ input: process.stdin }).on("line", (line) => {
    if (!line.trim()) return;
    const command = JSON.parse(line) as Command;
    run(command).then(
      () => {
        if (command.cmd !== "contend" || command.forMs !== undefined) emit({ ev: "done", cmd: command.cmd });
      },
      (error: unknown) => {
        const e = error as { code?: string; message?: string };
        emit({ ev: "error", cmd: command.cmd, code: e.code ?? "?", message: e.message ?? String(error) });
      },
    );
  });
  emit({ ev: "ready" });
}

main().catch((error: unknown) => {
  process.stderr.write(`conformance child failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
