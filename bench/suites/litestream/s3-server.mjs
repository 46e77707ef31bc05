// The S3 server of the litestream suite, in a process of its own (forked with IPC) so
// that its CPU is counted as neither replicator's: testkit's s3rver on 127.0.0.1 with
// its objects under the directory given as argv[2]. Every request is logged when its
// response has been sent (Node's `http.server.response.finish` diagnostics channel, no
// patching): method, key, query, status, body bytes and the time on the monotonic clock
// shared by every process of the machine (`process.hrtime`). For a write, that time is
// the moment the object became readable and the writer was told so.
//
// Messages in:  { type: "take" } → { type: "log", requests: [...] } (and clears the log)
//               { type: "stop" } → stops the server and exits.
// Message out at start: { type: "ready", endpoint, bucket, accessKeyId, secretAccessKey, region }.
import { subscribe } from "node:diagnostics_channel";
import { startS3Server } from "@sqlrep/testkit";
import { nowMs } from "./clock.mjs";

const directory = process.argv[2];
if (!directory) throw new Error("usage: s3-server.mjs <objects directory>");

let requests = [];
subscribe("http.server.response.finish", ({ request, response }) => {
  const url = new URL(request.url ?? "/", "http://s3");
  const length = request.headers["x-amz-decoded-content-length"] ?? request.headers["content-length"];
  requests.push({
    t: nowMs(),
    method: request.method,
    path: decodeURIComponent(url.pathname),
    query: url.search,
    status: response.statusCode,
    bytes: length === undefined ? 0 : Number(length),
  });
});

const server = await startS3Server({ directory, bucket: "bench" });
process.on("message", async (m) => {
  if (m.type === "take") {
    const taken = requests;
    requests = [];
    process.send({ type: "log", requests: taken });
  } else if (m.type === "stop") {
    await server.stop();
    process.exit(0);
  }
});
process.on("disconnect", () => void server.stop().then(() => process.exit(0)));
process.send({
  type: "ready",
  endpoint: server.endpoint,
  bucket: server.bucket,
  region: server.region,
  accessKeyId: server.accessKeyId,
  secretAccessKey: server.secretAccessKey,
});
