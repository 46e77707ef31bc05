// The replica conformance suite against Debian's OpenSSH sshd, with key and with password auth.
import { afterAll, describe } from "vitest";
import { describeReplicaClient } from "@sqlrep/replica/conformance";
import { sftpUnavailableReason, startSftpServer, type SftpServer } from "@sqlrep/testkit";
import { parseSftpUrl } from "./backend.js";
import { createSftpReplicaClient } from "./replica.js";
import type { SftpObjectStore } from "./sftp-store.js";

const unavailable = sftpUnavailableReason();
const server: SftpServer | undefined = unavailable === undefined ? await startSftpServer() : undefined;
afterAll(() => server?.stop(), 30_000);

let run = 0;
function harness(auth: "key" | "password") {
  return async () => {
    const spec = { ...parseSftpUrl(server!.url(`conformance/run-${++run}/db`)), hostKey: server!.hostKey };
    const client = createSftpReplicaClient(auth === "key" ? { ...spec, keyPath: server!.keyPath } : { ...spec, password: server!.password });
    return {
      client,
      cleanup: async () => {
        await client.deleteAll();
        (client.store as SftpObjectStore).destroy();
      },
    };
  };
}

describe.skipIf(server === undefined)(`sftp against OpenSSH's sshd${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  // SFTP v3 keeps whole seconds: a timestamp that is not the header's comes back truncated.
  describeReplicaClient("sftp (key auth, a fresh directory per test)", harness("key"), { timestampResolutionMs: 1000 });
  describeReplicaClient("sftp (password auth)", harness("password"), { timestampResolutionMs: 1000 });
});
