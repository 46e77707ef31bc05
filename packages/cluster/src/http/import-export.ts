/** `/import` (a raw SQLite file becomes a new TXID on the primary) and `/export` (a consistent copy, from any node). */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClusterNode } from "../roles/node.js";
import type { DatabasePosition } from "../store/database.js";
import { exportDatabaseBytes, sqliteImage } from "../store/import-export.js";
import { readBody } from "./respond.js";

/** Largest import held in memory. */
const MAX_IMPORT = 2 ** 31 - 1;

/** Commits the SQLite file in the request body as database `name`'s next TXID. */
export async function importDatabase(node: ClusterNode, name: string, req: IncomingMessage): Promise<DatabasePosition> {
  const image = sqliteImage(await readBody(req, MAX_IMPORT), `the file posted to /import?name=${name}`);
  return node.commit(name, image, image.commit);
}

/** Streams database `name` as a SQLite file. */
export async function exportDatabase(node: ClusterNode, name: string, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const db = node.store.require(name);
  let started = false;
  for await (const chunk of exportDatabaseBytes(db)) {
    if (signal.aborted) break;
    if (!started) {
      res.writeHead(200, { "Content-Type": "application/vnd.sqlite3", "Content-Disposition": `attachment; filename="${name.split("/").pop()}"` });
      started = true;
    }
    if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
  }
  if (!started) res.writeHead(200, { "Content-Type": "application/vnd.sqlite3", "Content-Length": 0 });
  res.end();
}
