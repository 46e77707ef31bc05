// MB/s of one 64 MiB streamed write and one streamed read of NatsObjectStore against
// Debian's nats-server -js on 127.0.0.1 (the testkit's startNatsServer), three runs:
// median and best; next to the NATS client's own object store put and get of the same
// bytes (the peer: what the library does without us). Run after a build:  node packages/replica-nats/bench/throughput.mjs [MiB]
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
  console.log(report("NatsObjectStore", mib, writes, reads));
  await client.store.destroy();
  console.log(report("@nats-io/obj put/get (peer)", mib, ...(await peer(server.url, mib))));
} finally {
  await server.stop();
}

/** The client library alone: os.put of a ReadableStream, os.get read to the end, three rounds, MB/s. */
async function peer(url, mib) {
  const nc = await connect({ servers: url });
  const os = await new Objm(nc).open("bench");
  const size = mib * 1024 * 1024;
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const writes = [];
  const reads = [];
  for (let run = 0; run < 3; run++) {
    let at = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (at >= size) return controller.close();
        controller.enqueue(block.slice(at % block.length, (at % block.length) + 65536));
        at += 65536;
      },
    });
    let t = performance.now();
    await os.put({ name: `peer-${run}` }, stream);
    writes.push(size / 1e6 / ((performance.now() - t) / 1000));
    t = performance.now();
    const got = await os.get(`peer-${run}`);
    let n = 0;
    for await (const chunk of got.data) n += chunk.length;
    if (n !== size) throw new Error(`peer read ${n} of ${size}`);
    reads.push(size / 1e6 / ((performance.now() - t) / 1000));
    await os.delete(`peer-${run}`);
  }
  await nc.close();
  return [writes, reads];
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
