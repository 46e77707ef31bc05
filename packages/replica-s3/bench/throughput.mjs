// Throughput of S3ObjectStore against the testkit's s3rver, which runs in a child process
// so the two do not share an event loop, next to @aws-sdk/lib-storage's Upload (5 MiB
// parts, 4 in flight) on the same client; and how many 5 MiB parts an upload keeps alive.
// Run after a build:  node --expose-gc packages/replica-s3/bench/throughput.mjs [MiB]
import { fork } from "node:child_process";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

if (process.argv[2] === "--server") {
  const { startS3Server } = await import("@sqlrep/testkit");
  const s3 = await startS3Server();
  process.send({ endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
  process.on("disconnect", () => s3.stop().then(() => process.exit(0)));
} else {
  await bench(Number(process.argv[2] ?? 128));
}

async function bench(mib) {
  const { S3ObjectStore, createS3Client, MIN_PART_SIZE } = await import("../dist/index.js");
  const { Upload } = await import("@aws-sdk/lib-storage");
  const server = fork(fileURLToPath(import.meta.url), ["--server"], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const s3 = await new Promise((resolve) => server.once("message", resolve));
  const settings = {
    bucket: s3.bucket,
    prefix: "",
    region: "us-east-1",
    endpoint: s3.endpoint,
    forcePathStyle: true,
    skipVerify: false,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    credentialSource: "spec",
    provider: undefined,
    signPayload: true,
    requireContentMd5: true,
    concurrency: undefined,
    objects: {},
    headers: {},
  };
  const store = new S3ObjectStore({ client: createS3Client(settings), bucket: s3.bucket, ownsClient: true });
  const size = mib * 1024 * 1024;
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  // 64 KiB chunks, each a fresh copy, as a file or socket stream hands them over.
  async function* source() {
    for (let at = 0; at < size; at += 65536) yield block.slice(at % block.length, (at % block.length) + 65536);
  }

  const rows = [];
  const measure = async (name, run) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const bytes = await run();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    rows.push({ name, "MB/s": Math.round(bytes / 1e6 / seconds), "client CPU s": ((cpu.user + cpu.system) / 1e6).toFixed(2), "wall s": seconds.toFixed(2) });
  };
  await measure(`write ${mib} MiB stream: S3ObjectStore (5 MiB × 5)`, async () => (await store.write("bench/a", source())).size);
  await measure(`write ${mib} MiB stream: lib-storage Upload (5 MiB × 4)`, async () => {
    await new Upload({ client: store.client, params: { Bucket: s3.bucket, Key: "bench/b", Body: Readable.from(source()) } }).done();
    return size;
  });
  await measure(`read ${mib} MiB: one streamed GET`, async () => {
    let n = 0;
    for await (const chunk of await store.read("bench/a")) n += chunk.length;
    return n;
  });
  const small = block.subarray(0, 4096);
  const count = 300;
  const before = rows.length;
  await measure(`${count} × PUT 4 KiB, one after another`, async () => {
    for (let i = 0; i < count; i++) await store.write(`bench/small/${i}`, small);
    return count * 4096;
  });
  rows[before]["MB/s"] = `${Math.round(count / Number(rows[before]["wall s"]))} PUT/s`;
  console.table(rows);

  // Live memory of an upload: part-sized chunks pass through as they are, so a WeakRef on
  // each chunk's buffer tells which parts are still held when the next one is pulled.
  if (globalThis.gc) {
    for (const concurrency of [1, 2, 5]) {
      const limited = new S3ObjectStore({ client: store.client, bucket: s3.bucket, concurrency });
      const refs = [];
      let peak = 0;
      async function* parts() {
        for (let i = 0; i < 16; i++) {
          globalThis.gc();
          await new Promise((resolve) => setTimeout(resolve, 5));
          globalThis.gc();
          peak = Math.max(peak, refs.filter((ref) => ref.deref() !== undefined).length);
          const part = new Uint8Array(MIN_PART_SIZE).fill(i);
          refs.push(new WeakRef(part.buffer));
          yield part;
        }
      }
      await limited.write(`bench/live-${concurrency}`, parts());
      console.log(`concurrency ${concurrency}: at most ${peak} parts of 5 MiB alive when the next part is pulled`);
    }
  }
  store.destroy();
  server.disconnect();
}
