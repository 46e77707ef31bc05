// The replica conformance suite against the testkit's real S3 server (a fresh prefix per test, and a leading-slash prefix).
import { afterAll, describe } from "vitest";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { describeReplicaClient } from "@sqlrep/replica/conformance";
import { startS3Server, type S3Server } from "@sqlrep/testkit";
import { parseS3Url } from "./backend.js";
import { createS3ReplicaClient } from "./replica.js";
import type { S3ObjectStore } from "./s3-store.js";

const s3 = await startS3Server();
afterAll(() => s3.stop(), 30_000);

const env = { LITESTREAM_ACCESS_KEY_ID: s3.accessKeyId, LITESTREAM_SECRET_ACCESS_KEY: s3.secretAccessKey };

function harness(prefix: () => string) {
  return async () => {
    const client = createS3ReplicaClient(parseS3Url(s3.url(prefix())), { env });
    return {
      client,
      cleanup: async () => {
        await client.deleteAll();
        (client.store as S3ObjectStore).destroy();
      },
    };
  };
}

let run = 0;
describeReplicaClient(
  "s3 (prefix, a fresh one per test)",
  harness(() => `conformance/run-${++run}/db`),
);

// With an empty prefix Litestream's keys start with "/" (`/0000/…`). The testkit's
// s3rver routes `/:bucket/:key+` and answers 404 to `/bucket//0000/…`, so this half
// runs only against a server that stores such keys.
const leadingSlash = await storesLeadingSlashKeys(s3);
describe.skipIf(!leadingSlash)(`empty prefix${leadingSlash ? "" : " (skipped: the testkit's s3rver cannot store keys that start with '/')"}`, () =>
  describeReplicaClient(
    "s3 (empty prefix, leading-slash keys)",
    harness(() => ""),
  ),
);

async function storesLeadingSlashKeys(server: S3Server): Promise<boolean> {
  const client = server.client({ maxAttempts: 1 });
  try {
    await client.send(new PutObjectCommand({ Bucket: server.bucket, Key: "/sqlrep-probe", Body: "x" }));
    await client.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: "/sqlrep-probe" }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}
