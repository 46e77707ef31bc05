// The TCP forwarder: a fixed address in front of a target that may move or go away.
import { createServer, connect, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTcpForwarder, type TcpForwarder } from "./tcp-forwarder.js";

const servers: Server[] = [];
let forwarder: TcpForwarder | undefined;
afterEach(async () => {
  await forwarder?.close();
  for (const s of servers.splice(0)) s.close();
});

/** An echo server answering with a tag, on a port the OS picks. */
async function echo(tag: string): Promise<number> {
  const server = createServer((socket) => socket.on("data", (d) => socket.write(`${tag}:${d.toString()}`)));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let got = "";
    socket.on("data", (d) => {
      got += d.toString();
      socket.end();
    });
    socket.on("close", () => resolve(got));
    socket.on("error", () => resolve(got));
  });
}

describe("startTcpForwarder", () => {
  it("forwards to the target, refuses while it has none, and follows a new target at the same port", async () => {
    const first = await echo("one");
    forwarder = await startTcpForwarder(first);
    expect(await ask(forwarder.port, "hi")).toBe("one:hi");
    forwarder.setTarget(undefined);
    expect(await ask(forwarder.port, "hi")).toBe("");
    forwarder.setTarget(await echo("two"));
    expect(await ask(forwarder.port, "hi")).toBe("two:hi");
    expect(forwarder.url).toBe(`http://127.0.0.1:${forwarder.port}`);
  });
});
