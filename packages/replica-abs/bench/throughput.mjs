// Throughput of AbsObjectStore against Azurite (a child process, so the two do not share
// an event loop): a streamed write and a streamed read of N MiB, next to the SDK's own
// uploadStream/download on the same client. Three runs each; the median and the best.
// Run after a build:  node packages/replica-abs/bench/throughput.mjs [MiB]
import { Readable } from "node:stream";
import { startAzurite } from "@sqlrep/testkit";
import { createAbsReplicaClient, createBlobServiceClient, parseAbsUrl, resolveAbsSettings } from "../dist/index.js";

const mib = Number(process.argv[2] ?? 64);
const size = mib * 1024 * 1024;
const azurite = await startAzurite();
try {
  const env = { LITESTREAM_AZURE_ACCOUNT_KEY: azurite.accountKey };
  const spec = parseAbsUrl(azurite.url("bench", "db"));
  const container = createBlobServiceClient(resolveAbsSettings(spec, env)).getContainerClient("bench");
  await container.createIfNotExists();
  const { store } = createAbsReplicaClient(spec, { env });
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  async function* source() {
    for (let at = 0; at < size; at += 65536) yield block.slice(at % block.length, (at % block.length) + 65536);
  }
  const runs = {};
  const measure = async (name, run) => {
    const t0 = performance.now();
    const bytes = await run();
    (runs[name] ??= []).push(bytes / 1e6 / ((performance.now() - t0) / 1000));
  };
  for (let round = 0; round < 3; round++) {
    await measure(`write ${mib} MiB stream: AbsObjectStore`, async () => (await store.write("bench/a", source())).size);
    await measure(`write ${mib} MiB stream: SDK uploadStream (4 MiB × 4)`, async () => {
      await container.getBlockBlobClient("bench/b").uploadStream(Readable.from(source(), { objectMode: false }), 4 << 20, 4);
      return size;
    });
    await measure(`read ${mib} MiB: AbsObjectStore`, async () => {
      let n = 0;
      for await (const chunk of await store.read("bench/a")) n += chunk.length;
      return n;
    });
    await measure(`read ${mib} MiB: SDK download`, async () => {
      let n = 0;
      for await (const chunk of (await container.getBlobClient("bench/b").download()).readableStreamBody) n += chunk.length;
      return n;
    });
  }
  const rows = Object.entries(runs).map(([name, values]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { name, "median MB/s": Math.round(sorted[1]), "best MB/s": Math.round(sorted[2]) };
  });
  console.table(rows);
} finally {
  await azurite.stop();
}
