// NATS authentication and TLS against a real nats-server: user/password, nkey, token, JWT +
// seed and creds files, TLS and mutual TLS; wrong credentials are refused, not retried.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connect, credsAuthenticator, type ConnectionOptions } from "@nats-io/transport-node";
import { Objm } from "@nats-io/obj";
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from "@nats-io/jwt";
import { createAccount, createOperator, createUser } from "@nats-io/nkeys";
import { isReplicaError, type ReplicaError } from "@sqlrep/replica";
import { ltxFile } from "@sqlrep/replica/conformance";
import { natsUnavailableReason, startNatsServer, tempDir, type NatsServer } from "@sqlrep/testkit";
import { parseNatsUrl, type NatsSpec } from "./backend.js";
import { createNatsReplicaClient } from "./replica.js";
import type { NatsObjectStore } from "./nats-store.js";

const unavailable = natsUnavailableReason();
const servers: NatsServer[] = [];
const files = tempDir("sqlrep-nats-auth-");
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  files.remove();
}, 30_000);

async function start(config: string | ((dir: string) => string)): Promise<NatsServer> {
  const server = await startNatsServer({ config });
  servers.push(server);
  return server;
}

/** Makes the bucket (as an operator would, before Litestream runs) with an admin connection. */
async function makeBucket(server: NatsServer, options: ConnectionOptions, bucket = "db"): Promise<void> {
  const nc = await connect({ servers: server.url, ...options });
  await new Objm(nc).create(bucket);
  await nc.close();
}

/** One write and one listing through a client built from `spec`. */
async function roundTrip(spec: NatsSpec): Promise<number[]> {
  const replica = createNatsReplicaClient(spec);
  try {
    await replica.writeLtxFile({ level: 0, minTXID: 1, maxTXID: 1 }, ltxFile(1, 1));
    const found: number[] = [];
    for await (const f of replica.ltxFiles(0)) found.push(f.minTXID);
    return found;
  } finally {
    await (replica.store as NatsObjectStore).destroy();
  }
}

async function refused(spec: NatsSpec): Promise<ReplicaError> {
  const err = await roundTrip(spec).then(
    () => expect.unreachable("expected a refusal"),
    (e: unknown) => e,
  );
  expect(isReplicaError(err), String(err)).toBe(true);
  return err as ReplicaError;
}

describe.skipIf(unavailable !== undefined)(`nats authentication and TLS${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("username and password (keys, or the URL's user:password), and an nkey seed; wrong ones are refused, not retried", async () => {
    const user = createUser();
    const server = await start(`authorization {\n  users = [\n    { user: alice, password: s3cret }\n    { nkey: ${user.getPublicKey()} }\n  ]\n}`);
    await makeBucket(server, { user: "alice", pass: "s3cret" });
    const url = `${server.url}/db`;
    expect(await roundTrip({ ...parseNatsUrl(url), username: "alice", password: "s3cret" })).toEqual([1]);
    expect(await roundTrip(parseNatsUrl(`nats://alice:s3cret@127.0.0.1:${server.port}/db`))).toEqual([1]);
    const seed = new TextDecoder().decode(user.getSeed());
    expect(await roundTrip({ ...parseNatsUrl(url), nkey: seed })).toEqual([1]);
    expect(await roundTrip({ ...parseNatsUrl(url), nkey: user.getPublicKey(), seed })).toEqual([1]);
    const wrong = await refused({ ...parseNatsUrl(url), username: "alice", password: "nope" });
    expect(wrong).toMatchObject({ code: "io", retryable: false });
    expect(wrong.message).toMatch(/Authorization Violation.*\(authentication: username\)/);
    expect((await refused(parseNatsUrl(url))).message).toContain("no credentials given");
  });

  it("a token (key, or the URL's user part alone)", async () => {
    const server = await start("authorization {\n  token: t0ken\n}");
    await makeBucket(server, { token: "t0ken" });
    expect(await roundTrip({ ...parseNatsUrl(`${server.url}/db`), token: "t0ken" })).toEqual([1]);
    expect(await roundTrip(parseNatsUrl(`nats://t0ken@127.0.0.1:${server.port}/db`))).toEqual([1]);
    expect((await refused({ ...parseNatsUrl(`${server.url}/db`), token: "wrong" })).retryable).toBe(false);
  });

  it("decentralized auth: jwt with seed, and a creds file", async () => {
    const operator = createOperator();
    const account = createAccount();
    const system = createAccount();
    const user = createUser();
    const unlimited = {
      subs: -1,
      data: -1,
      payload: -1,
      imports: -1,
      exports: -1,
      wildcards: true,
      conn: -1,
      leaf: -1,
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    };
    const accountJwt = await encodeAccount("app", account, { limits: unlimited }, { signer: operator });
    const systemJwt = await encodeAccount("SYS", system, {}, { signer: operator });
    const userJwt = await encodeUser("litestream", user, account);
    const server = await start(
      `operator: ${await encodeOperator("test", operator)}\nsystem_account: ${system.getPublicKey()}\nresolver: MEMORY\nresolver_preload: {\n  ${account.getPublicKey()}: ${accountJwt}\n  ${system.getPublicKey()}: ${systemJwt}\n}`,
    );
    const creds = fmtCreds(userJwt, user);
    const credsFile = files.join("user.creds");
    writeFileSync(credsFile, creds);
    await makeBucket(server, { authenticator: credsAuthenticator(creds) });
    const url = `${server.url}/db`;
    expect(await roundTrip({ ...parseNatsUrl(url), creds: credsFile })).toEqual([1]);
    expect(await roundTrip({ ...parseNatsUrl(url), jwt: userJwt, seed: new TextDecoder().decode(user.getSeed()) })).toEqual([1]);
    const stranger = createUser();
    const forged = await encodeUser("stranger", stranger, createAccount());
    expect((await refused({ ...parseNatsUrl(url), jwt: forged, seed: new TextDecoder().decode(stranger.getSeed()) })).retryable).toBe(false);
    expect(() => createNatsReplicaClient({ ...parseNatsUrl(url), creds: files.join("missing.creds") })).toThrow(/cannot read creds .*missing\.creds/);
  });

  it("TLS with root-cas, and mutual TLS with client-cert and client-key", async () => {
    const pki = makePki(files.path);
    const server = await start(
      `tls {\n  cert_file: ${JSON.stringify(pki.serverCert)}\n  key_file: ${JSON.stringify(pki.serverKey)}\n  ca_file: ${JSON.stringify(pki.ca)}\n  verify: true\n}`,
    );
    await makeBucket(server, { tls: { caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey } });
    const url = `${server.url}/db`;
    expect(await roundTrip({ ...parseNatsUrl(url), tls: true, rootCas: [pki.other, pki.ca], clientCert: pki.clientCert, clientKey: pki.clientKey })).toEqual([1]);
    // Without a client certificate the server refuses; with an untrusted server certificate, we do.
    expect(await refused({ ...parseNatsUrl(url), tls: true, rootCas: [pki.ca], timeout: 2_000, maxReconnects: 0 })).toMatchObject({ code: "io" });
    const untrusted = await refused({
      ...parseNatsUrl(url),
      tls: true,
      rootCas: [pki.other],
      clientCert: pki.clientCert,
      clientKey: pki.clientKey,
      timeout: 2_000,
      maxReconnects: 0,
    });
    expect(untrusted).toMatchObject({ code: "io", retryable: false });
    expect(untrusted.message).toMatch(/certificate/i);
  }, 30_000);
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate signed by it, and an unrelated CA (openssl). */
function makePki(dir: string) {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  for (const ca of ["ca", "other"]) {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=sqlrep test ${ca}`,
      "-keyout",
      path(`${ca}.key`),
      "-out",
      path(`${ca}.pem`),
    );
  }
  for (const [name, ext] of [
    // The Node transport upgrades an open socket and checks the name "localhost" for an IP address.
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"],
    ["client", "extendedKeyUsage=clientAuth"],
  ] as const) {
    writeFileSync(path(`${name}.ext`), `${ext}\n`);
    openssl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=sqlrep test ${name}`,
      "-keyout",
      path(`${name}.key`),
      "-out",
      path(`${name}.csr`),
    );
    openssl(
      "x509",
      "-req",
      "-in",
      path(`${name}.csr`),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      path(`${name}.ext`),
      "-out",
      path(`${name}.pem`),
    );
  }
  return {
    ca: path("ca.pem"),
    other: path("other.pem"),
    serverCert: path("server.pem"),
    serverKey: path("server.key"),
    clientCert: path("client.pem"),
    clientKey: path("client.key"),
  };
}
