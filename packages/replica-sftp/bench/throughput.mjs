// MB/s of one 64 MiB streamed write and one streamed read of SftpObjectStore against
// Debian's sshd on 127.0.0.1 (the testkit's startSftpServer), three runs: median and best;
// next to OpenSSH's own sftp client (put and get of the same bytes from a local file).
// Run after a build, as root:  node packages/replica-sftp/bench/throughput.mjs [MiB]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSftpServer, sftpUnavailableReason } from "@sqlrep/testkit";
import { createSftpReplicaClient, parseSftpUrl } from "../dist/index.js";

const why = sftpUnavailableReason();
if (why) {
  console.log(`skipped: ${why}`);
  process.exit(0);
}
const mib = Number(process.argv[2] ?? 64);
const server = await startSftpServer();
try {
  const spec = { ...parseSftpUrl(server.url("bench")), keyPath: server.keyPath, hostKey: server.hostKey };
  const client = createSftpReplicaClient(spec);
  const { writes, reads } = await measure(client.store, mib);
  console.log(report("SftpObjectStore", mib, writes, reads));
  await client.store.destroy();
  console.log(report("OpenSSH sftp (peer)", mib, ...openssh(server, mib)));
} finally {
  await server.stop();
}

/** OpenSSH's sftp client: put and get of a local file of `mib` MiB, three rounds, MB/s. */
function openssh(server, mib) {
  const dir = mkdtempSync(join(tmpdir(), "sqlrep-sftp-bench-"));
  try {
    const file = join(dir, "src.bin");
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
    writeFileSync(file, Buffer.concat(Array.from({ length: mib }, () => block)));
    const run = (batch) => {
      writeFileSync(join(dir, "batch"), batch);
      const t = performance.now();
      execFileSync(
        "sftp",
        [
          "-q",
          "-i",
          server.keyPath,
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-P",
          String(server.port),
          "-b",
          join(dir, "batch"),
          `${server.user}@127.0.0.1`,
        ],
        { stdio: "ignore" },
      );
      return (mib * 1024 * 1024) / 1e6 / ((performance.now() - t) / 1000);
    };
    const writes = [];
    const reads = [];
    for (let i = 0; i < 3; i++) {
      writes.push(run(`put ${file} ${server.home}/peer.bin\n`));
      reads.push(run(`get ${server.home}/peer.bin ${join(dir, "back.bin")}\n`));
    }
    return [writes, reads];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Three write+read rounds of `mib` MiB in 64 KiB chunks; MB/s of each. */
async function measure(store, mib) {
  const size = mib * 1024 * 1024;
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  async function* source() {
    for (let at = 0; at < size; at += 65536) yield block.slice(at % block.length, (at % block.length) + 65536);
  }
  const writes = [];
  const reads = [];
  for (let run = 0; run < 3; run++) {
    const key = `bench/${run}.bin`;
    let t = performance.now();
    await store.write(key, source());
    writes.push(size / 1e6 / ((performance.now() - t) / 1000));
    t = performance.now();
    let got = 0;
    for await (const chunk of await store.read(key)) got += chunk.length;
    if (got !== size) throw new Error(`read ${got} bytes of ${size}`);
    reads.push(size / 1e6 / ((performance.now() - t) / 1000));
    await store.delete([key]);
  }
  return { writes, reads };
}

/** "write median X MB/s (best Y), read …" */
function report(what, mib, writes, reads) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const f = (xs) => `median ${median(xs).toFixed(0)} MB/s (best ${Math.max(...xs).toFixed(0)})`;
  return `${what}, ${mib} MiB in 64 KiB chunks, 3 runs: write ${f(writes)}, read ${f(reads)}`;
}
