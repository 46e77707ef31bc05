// The shaped link of the litestream suite, in a process of its own: testkit's fault proxy
// in front of the S3 server (argv[2]) with LINK_MBPS per connection and LINK_LATENCY_MS
// one way. Its own process because a link costs the server nothing: run inside the S3
// server's process, the proxy's copying took the CPU the server needed to answer
// parallel ranged GETs, which no real link does.
//
// Message out at start: { type: "ready", url }. Message in: { type: "stop" } → exits.
import { startFaultProxy } from "@sqlrep/testkit";

const target = process.argv[2];
if (!target) throw new Error("usage: link-proxy.mjs <target endpoint>");
const proxy = await startFaultProxy({
  target,
  link: { bytesPerSecond: Number(process.env.LINK_MBPS) * 1e6, latencyMs: Number(process.env.LINK_LATENCY_MS ?? 0) },
});
process.on("message", async (m) => {
  if (m.type === "stop") {
    await proxy.stop();
    process.exit(0);
  }
});
process.on("disconnect", () => void proxy.stop().then(() => process.exit(0)));
process.send({ type: "ready", url: proxy.url });
