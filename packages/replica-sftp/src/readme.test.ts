// Runs the README's usage example against the built packages and Debian's sshd, as a user would.
import { readmeExample, runReadmeExample, sftpUnavailableReason, startSftpServer, type SftpServer } from "@sqlrep/testkit";
import { afterAll, describe, expect, it } from "vitest";

const example = readmeExample(import.meta.url);
const missing = example.unbuilt ?? sftpUnavailableReason();
const server: SftpServer | undefined = missing === undefined ? await startSftpServer() : undefined;
afterAll(() => server?.stop(), 30_000);

describe.skipIf(missing !== undefined)(`README usage example${missing ? ` (skipped: ${missing})` : ""}`, () => {
  it("runs as written against the built package and sshd, and prints what the README says", async () => {
    const out = await runReadmeExample(example, {
      env: { REPLICA_URL: server!.url("readme"), SFTP_KEY: server!.keyPath, SFTP_HOST_KEY: server!.hostKey },
      timeoutMs: 20_000,
    });
    expect(out).toBe(example.printed);
  }, 30_000);
});
