// MB/s of one 64 MiB streamed write and one streamed read of SftpObjectStore against
// Debian's sshd on 127.0.0.1 (the testkit's startSftpServer), three runs: median and best.
// Run after a build, as root:  node packages/replica-sftp/bench/throughput.mjs [MiB]
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
  console.log(report("sftp", mib, writes, reads));
  await client.store.destroy();
} finally {
  await server.stop();
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
