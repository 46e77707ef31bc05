/**
 * `http.auth-token` (or `LITEFS_AUTH_TOKEN`): LiteFS has no authentication at all; with
 * a token set, node-to-node and mutating endpoints require `Authorization: Bearer
 * <token>`, and a wrong or missing one is a 401 before anything is read or changed.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The token from options or the environment (`LITEFS_AUTH_TOKEN`); undefined when neither sets one. */
export function resolveAuthToken(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = option ?? env.LITEFS_AUTH_TOKEN;
  return token === undefined || token === "" ? undefined : token;
}

/** Whether `req` carries `token` (always true when no token is configured). Constant-time comparison. */
export function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (match === null) return false;
  const given = Buffer.from(match[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
