// MB/s of one 64 MiB streamed write and one streamed read of NatsObjectStore against
// Debian's nats-server -js on 127.0.0.1 (the testkit's startNatsServer), three runs:
// median and best. Run after a build:  node packages/replica-nats/bench/throughput.mjs [MiB]
import { connect } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";
import { natsUnavailableReason, startNatsServer } from "@sqlrep/testkit";
import { createNatsReplicaClient, parseNatsUrl } from "../dist/index.js";

const why = natsUnavailableReason();
if (why) {
  console.log(`skipped: ${why}`);
  process.exit(0);
}
const mib = Number(process.argv[2] ?? 64);
const server = await startNatsServer();
try {
  const nc = await connect({ servers: server.url });
  await new Objm(nc).create("bench");
  await nc.close();
  const client = createNatsReplicaClient(parseNatsUrl(`${server.url}/bench`));
  const { writes, reads } = await measure(client.store, mib);
  console.log(report("nats", mib, writes, reads));
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
