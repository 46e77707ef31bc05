/**
 * The client side of the control socket: one JSON request over HTTP on a Unix socket to
 * the running `replicate`, as Litestream v0.5's `start`, `stop`, `sync`, … commands send.
 */
import { request } from "node:http";
import { CliError } from "./context.js";

/**
 * Sends `body` (or nothing, for GET) to `route` on the socket at `socketPath`, waiting at
 * most `timeoutSeconds`. Resolves with the JSON answer; throws CliError
 * `<command> failed: <the server's error>` on an error answer, and says so when the
 * socket cannot be reached.
 */
export function controlRequest(command: string, socketPath: string, route: string, body: unknown, timeoutSeconds: number): Promise<Record<string, unknown>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: route,
        method: payload === undefined ? "GET" : "POST",
        headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        timeout: timeoutSeconds * 1000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const obj = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : undefined;
          if (res.statusCode !== 200) {
            const message = typeof obj?.["error"] === "string" ? obj["error"] : text.trim();
            reject(new CliError(`${command} failed: ${message}`));
          } else if (obj === undefined) reject(new CliError(`${command} failed: the answer is not JSON: ${text.slice(0, 200)}`));
          else resolve(obj);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutSeconds}s`)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      const hint = err.code === "ENOENT" || err.code === "ECONNREFUSED" ? " (is litestream replicate running with socket.enabled: true in its config?)" : "";
      reject(new CliError(`failed to connect to control socket ${socketPath}: ${err.message}${hint}`, { cause: err }));
    });
    req.end(payload);
  });
}
