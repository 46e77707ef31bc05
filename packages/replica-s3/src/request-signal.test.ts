// Abort signals on S3 requests: many concurrent requests on one caller signal add no listeners to it.
import { describe, expect, it } from "vitest";
import { startS3Server } from "@sqlrep/testkit";
import { S3ObjectStore } from "./s3-store.js";

describe("abort signals", () => {
  it("many concurrent requests on one caller signal add no listeners to it (no MaxListenersExceededWarning)", async () => {
    const s3 = await startS3Server();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const store = new S3ObjectStore({ client: s3.client(), bucket: s3.bucket });
      const controller = new AbortController();
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.write(`k/${i}`, new Uint8Array([i]), { signal: controller.signal })));
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.head(`k/${i}`, { signal: controller.signal })));
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain("MaxListenersExceededWarning");
      store.destroy();
    } finally {
      process.off("warning", onWarning);
      await s3.stop();
    }
  }, 30_000);
});
