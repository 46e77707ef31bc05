// The two replicators, run the same way from the same config file: `replicate -config`
// and `restore -config -o`. Ours is `apps/litestream/dist/litestream.js` run as an
// executable, as its `bin` is (the shebang sets Node's flags), Litestream is the
// v0.3.13 Go binary from npm `@flydotio/litestream-linux-x64`.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnProcess } from "@sqlrep/testkit";
import { nowMs } from "./clock.mjs";
import { cpuSeconds } from "./proc.mjs";

export function tools(repo) {
  return [
    {
      id: "ours",
      label: "sqlrep litestream",
      command: join(repo, "apps", "litestream", "dist", "litestream.js"),
      prefixArgs: [],
      // Logged once the initial snapshot is uploaded and the first sync ran.
      ready: /msg="replication started"/,
    },
    {
      id: "theirs",
      label: "Litestream v0.3.13",
      command: join(repo, "node_modules", "@flydotio", "litestream-linux-x64", "litestream"),
      prefixArgs: [],
      // Logged once the snapshot of the new generation is uploaded.
      ready: /msg="snapshot written"/,
    },
  ];
}

/** Why a tool cannot run here, or undefined. */
export function missing(tool) {
  if (!existsSync(TIME)) return `${TIME} is missing (Debian package \`time\`)`;
  const file = tool.command;
  return existsSync(file) ? undefined : `${file} is missing (${tool.id === "ours" ? "run `pnpm turbo run build`" : "npm @flydotio/litestream-linux-x64"})`;
}

/**
 * The config both tools read (v0.3 keys, which ours accepts): one database, one replica,
 * sync-interval 1s, the same checkpoint thresholds (PASSIVE at 1,000 WAL pages, or after
 * 1 min). Keys left out have the same default in both (monitor-interval 1s).
 */
export function writeConfig(path, { db, replica }) {
  const lines = ["dbs:", `  - path: ${db}`, "    min-checkpoint-page-count: 1000", "    checkpoint-interval: 1m", "    replicas:"];
  if (replica.kind === "dir") lines.push("      - type: file", `        path: ${replica.path}`);
  else {
    const s3 = replica.s3;
    lines.push(
      "      - type: s3",
      `        bucket: ${s3.bucket}`,
      `        path: ${replica.prefix}`,
      `        endpoint: ${s3.endpoint}`,
      `        region: ${s3.region}`,
      "        force-path-style: true",
      `        access-key-id: ${s3.accessKeyId}`,
      `        secret-access-key: ${s3.secretAccessKey}`,
    );
  }
  lines.push("        sync-interval: 1s", "");
  writeFileSync(path, lines.join("\n"));
  return path;
}

/** Starts `replicate -config` and resolves once the tool says its snapshot is written. */
export async function startReplicate(tool, config, { readyTimeoutMs = 120_000 } = {}) {
  const t0 = nowMs();
  const handle = await spawnProcess(tool.command, [...tool.prefixArgs, "replicate", "-config", config], {
    name: `${tool.id} replicate`,
    ready: tool.ready,
    readyTimeoutMs,
  });
  return { handle, pid: handle.pid, readyMs: nowMs() - t0, cpuAtReady: cpuSeconds(handle.pid) };
}

/**
 * `restore -config -o out db` under GNU time (`/usr/bin/time`, which reports the child's
 * rusage: peak RSS and CPU exactly); wall clock measured here, from spawn to exit.
 */
export async function runRestore(tool, config, db, out, extraArgs = []) {
  const report = `${out}.time`;
  const t0 = nowMs();
  const handle = await spawnProcess(TIME, ["-f", "%M %U %S", "-o", report, tool.command, ...tool.prefixArgs, "restore", ...extraArgs, "-config", config, "-o", out, db], {
    name: `${tool.id} restore`,
  });
  const status = await handle.exited;
  const ms = nowMs() - t0;
  if (status.code !== 0) throw new Error(`${tool.label} restore exited with ${status.signal ?? status.code}:\n${handle.output().slice(-20).join("\n")}`);
  const [maxRssKiB, user, system] = readFileSync(report, "utf8").trim().split("\n").at(-1).split(" ").map(Number);
  rmSync(report);
  return { ms, peakRssMiB: maxRssKiB / 1024, cpuSeconds: user + system, output: handle.output() };
}

/** GNU time: the restores' peak RSS and CPU come from it. */
export const TIME = "/usr/bin/time";
