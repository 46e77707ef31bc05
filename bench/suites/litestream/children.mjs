// The litestream suite's child processes, forked with IPC so that their CPU is counted
// apart from the replicators': the S3 server (s3-server.mjs) and the application (writer.mjs).
import { fork } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The S3 server in its own process, and behind it a shaped link (`link`, at
 * `proxyEndpoint`) in a third; `take()` returns (and clears) the server's request log.
 */
export async function startS3(directory, link) {
  mkdirSync(directory, { recursive: true });
  const child = fork(join(here, "s3-server.mjs"), [directory], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const info = await reply(child, "ready");
  let proxy;
  if (link.mbps > 0) {
    const env = { ...process.env, LINK_MBPS: String(link.mbps), LINK_LATENCY_MS: String(link.latencyMs) };
    proxy = fork(join(here, "link-proxy.mjs"), [info.endpoint], { stdio: ["ignore", "inherit", "inherit", "ipc"], env });
    info.proxyEndpoint = (await reply(proxy, "ready")).url;
  }
  return {
    ...info,
    pid: child.pid,
    async take() {
      child.send({ type: "take" });
      return (await reply(child, "log")).requests;
    },
    async stop() {
      await Promise.all([proxy, child].filter((c) => c !== undefined).map(stopChild));
    },
  };
}

/** Asks a forked child to stop, and kills it if it has not exited within 10 s. */
async function stopChild(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.send({ type: "stop" });
  await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
}

/** The next message of `type` from a forked child; rejects on its `failed` message or its exit. */
function reply(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m.type === type) done(() => resolve(m));
      else if (m.type === "failed") done(() => reject(new Error(m.message)));
    };
    const onExit = (code) => done(() => reject(new Error(`${child.spawnargs.join(" ")} exited with ${code} before "${type}"`)));
    const done = (fn) => {
      child.off("message", onMessage);
      child.off("exit", onExit);
      fn();
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

/** The application: writer.mjs on `db`. */
export async function startWriter(db) {
  const child = fork(join(here, "writer.mjs"), [db], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await reply(child, "ready");
  return {
    pid: child.pid,
    async commit(first, count, intervalsMs) {
      child.send({ type: "run", first, count, intervalsMs });
      return (await reply(child, "done")).commits;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      if (child.connected) child.disconnect();
      await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
    },
  };
}
