// Runs the README's usage example against the built packages and nats-server -js, as a user would.
import { connect } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";
import { natsUnavailableReason, readmeExample, runReadmeExample, startNatsServer, type NatsServer } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);
const missing = example.unbuilt ?? natsUnavailableReason();
const server: NatsServer | undefined = missing === undefined ? await startNatsServer() : undefined;
afterAll(() => server?.stop(), 30_000);

describe.skipIf(missing !== undefined)(`README usage example${missing ? ` (skipped: ${missing})` : ""}`, () => {
  it("runs as written against the built package and nats-server, and prints what the README says", async () => {
    const nc = await connect({ servers: server!.url });
    await new Objm(nc).create("litestream");
    await nc.close();
    const out = await runReadmeExample(example, { env: { REPLICA_URL: `${server!.url}/litestream` }, timeoutMs: 20_000 });
    expect(out).toBe(example.printed);
  }, 30_000);
});
