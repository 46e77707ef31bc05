// Throughput of WebdavObjectStore against webdav-server (a child process writing to a
// temp directory): a streamed write (spooled to a temp file past 8 MiB, PUT, MOVE,
// PROPPATCH) and a streamed read of N MiB, next to curl PUT/GET of the same bytes
// against the same server. Three runs each; the median and the best.
// Run after a build:  node packages/replica-webdav/bench/throughput.mjs [MiB]
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { startWebdavServer, tempDir } from "@sqlrep/testkit";
import { createWebdavReplicaClient, parseWebdavUrl } from "../dist/index.js";

const mib = Number(process.argv[2] ?? 64);
const size = mib * 1024 * 1024;
const dav = await startWebdavServer();
const tmp = tempDir("sqlrep-webdav-bench-");
try {
  const { store } = createWebdavReplicaClient(parseWebdavUrl(dav.replicaUrl("")));
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  async function* source() {
    for (let at = 0; at < size; at += 65536) yield block.slice(at % block.length, (at % block.length) + 65536);
  }
  const file = tmp.join("body");
  writeFileSync(file, Buffer.concat(Array.from({ length: mib }, () => block)));
  const curl = (...args) => execFileSync("curl", ["-sSf", "-u", `${dav.username}:${dav.password}`, ...args]);
  curl("-X", "MKCOL", `${dav.url}/bench/`);
  const runs = {};
  const measure = async (name, run) => {
    const t0 = performance.now();
    const bytes = await run();
    (runs[name] ??= []).push(bytes / 1e6 / ((performance.now() - t0) / 1000));
  };
  for (let round = 0; round < 3; round++) {
    await measure(`write ${mib} MiB stream: WebdavObjectStore`, async () => (await store.write("bench/a", source(), { timestamp: new Date() })).size);
    await measure(`write ${mib} MiB file: curl PUT`, async () => {
      curl("-T", file, `${dav.url}/bench/b`);
      return size;
    });
    await measure(`read ${mib} MiB: WebdavObjectStore`, async () => {
      let n = 0;
      for await (const chunk of await store.read("bench/a")) n += chunk.length;
      return n;
    });
    await measure(`read ${mib} MiB: curl GET`, async () => curl("-o", "/dev/null", "-w", "%{size_download}", `${dav.url}/bench/b`).toString() * 1);
  }
  const rows = Object.entries(runs).map(([name, values]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { name, "median MB/s": Math.round(sorted[1]), "best MB/s": Math.round(sorted[2]) };
  });
  console.table(rows);
} finally {
  tmp.remove();
  await dav.stop();
}
