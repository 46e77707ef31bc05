// The replica conformance suite against a real nats-server with JetStream (bucket root, and a prefix per test).
import { afterAll, describe } from "vitest";
import { connect } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";
import { describeReplicaClient } from "@sqlrep/replica/conformance";
import { natsUnavailableReason, startNatsServer, type NatsServer } from "@sqlrep/testkit";
import { parseNatsUrl } from "./backend.js";
import { createNatsReplicaClient } from "./replica.js";
import type { NatsObjectStore } from "./nats-store.js";

const unavailable = natsUnavailableReason();
const server: NatsServer | undefined = unavailable === undefined ? await startNatsServer() : undefined;
afterAll(() => server?.stop(), 30_000);

// Litestream needs the bucket to exist; so do we.
if (server !== undefined) {
  const nc = await connect({ servers: server.url });
  for (const bucket of ["conformance", "prefixed"]) await new Objm(nc).create(bucket);
  await nc.close();
}

let run = 0;
function harness(url: () => string) {
  return async () => {
    const client = createNatsReplicaClient(parseNatsUrl(url()));
    return {
      client,
      cleanup: async () => {
        await client.deleteAll();
        await (client.store as NatsObjectStore).destroy();
      },
    };
  };
}

describe.skipIf(server === undefined)(`nats against nats-server -js${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  // Litestream's layout: ltx/<level>/… at the bucket's root (one bucket per database).
  describeReplicaClient(
    "nats (bucket root, as Litestream)",
    harness(() => `${server!.url}/conformance`),
  );
  describeReplicaClient(
    "nats (a prefix per test)",
    harness(() => `${server!.url}/prefixed/run-${++run}/db`),
  );
});
