/**
 * The endpoints of LiteFS's API (reference §4): `/stream`, `/halt`, `/tx`, `/info`,
 * `/promote`, `/handoff`, `/import`, `/export`, `/events`, `/metrics`, and
 * `/checksums` (ours: a primary's history, read by a rejoining node to find where it
 * diverged). `auth`: requires the token when one is set; `node`: a node-to-node call
 * (its `Litefs-Id` must not be ours, its cluster ID must be ours).
 */
import { formatChecksum, formatTxid } from "@sqlrep/ltx";
import { ClusterError } from "../errors.js";
import { litefsEventJSON } from "../events.js";
import { metricsText } from "../metrics.js";
import { checkDatabaseName } from "../store/names.js";
import { decodePositionMap } from "../stream/codec.js";
import { HEADER_CANDIDATE, HEADER_EPOCH, HEADER_NODE_ID } from "./peer.js";
import { readBody, sendJSON, type RequestContext } from "./respond.js";
import { importDatabase, exportDatabase } from "./import-export.js";

/** One method of one path. */
export interface Handler {
  readonly auth: boolean;
  readonly node?: boolean;
  run(ctx: RequestContext): Promise<void>;
}

/** Handlers by method. */
export type Route = Readonly<Record<string, Handler>>;

/** Slow `/events` consumers are dropped past this many events not yet written out (LiteFS: 1024). */
const EVENTS_BACKLOG = 1024;
/** Largest `/tx` body. */
const MAX_TX = 1 << 30;

const name = (ctx: RequestContext) => checkDatabaseName(ctx.url.searchParams.get("name") ?? "");

/** Every endpoint, by path. */
export const routes: Readonly<Record<string, Route>> = {
  "/stream": {
    POST: {
      auth: true,
      node: true,
      async run(ctx) {
        const role = ctx.node.primary;
        if (role === undefined || !role.writable) throw new ClusterError("not-primary", "this node is not the primary", { retryable: true });
        const replica = ctx.req.headers[HEADER_NODE_ID];
        if (typeof replica !== "string") throw new ClusterError("protocol", "/stream needs a Litefs-Id header");
        const positions = decodePositionMap(await readBody(ctx.req, 64 << 20));
        const filter = ctx.url.searchParams.get("filter");
        ctx.res.writeHead(200, { "Content-Type": "application/octet-stream", [HEADER_EPOCH]: String(role.epoch), "Cache-Control": "no-store" });
        ctx.res.flushHeaders();
        ctx.res.socket?.setNoDelay(true);
        const res = ctx.res;
        const sink = {
          write: (bytes: Uint8Array) =>
            new Promise<void>((resolve, reject) => {
              if (res.destroyed || res.writableEnded) return reject(new ClusterError("aborted", "the replica went away"));
              if (res.write(bytes)) return resolve();
              const done = () => {
                res.off("drain", done);
                res.off("close", done);
                if (res.destroyed) reject(new ClusterError("aborted", "the replica went away"));
                else resolve();
              };
              res.on("drain", done);
              res.on("close", done);
            }),
          end: () => {
            if (!res.writableEnded) res.end();
          },
        };
        const candidate = ctx.req.headers[HEADER_CANDIDATE] === "true";
        await role.serve(replica, positions, sink, filter === null ? undefined : filter.split(",").filter((s) => s !== ""), ctx.signal, candidate);
      },
    },
  },
  "/halt": {
    POST: {
      auth: true,
      node: true,
      async run(ctx) {
        const role = requirePrimary(ctx);
        const grant = await role.halt(name(ctx), haltId(ctx, "id"), ctx.signal);
        sendJSON(ctx.res, 200, {
          id: grant.id,
          pos: { TXID: formatTxid(grant.position.txid), PostApplyChecksum: formatChecksum(grant.position.checksum) },
          expires: new Date(grant.expires).toISOString(),
        });
      },
    },
    DELETE: {
      auth: true,
      node: true,
      async run(ctx) {
        requirePrimary(ctx).unhalt(name(ctx), haltId(ctx, "id"));
        sendJSON(ctx.res, 200, {});
      },
    },
  },
  "/tx": {
    POST: {
      auth: true,
      node: true,
      async run(ctx) {
        const role = requirePrimary(ctx);
        const pos = await role.forwarded(name(ctx), haltId(ctx, "lockID"), await readBody(ctx.req, MAX_TX));
        sendJSON(ctx.res, 200, { pos: { TXID: formatTxid(pos.txid), PostApplyChecksum: formatChecksum(pos.checksum) } });
      },
    },
  },
  "/info": {
    GET: {
      auth: false,
      async run(ctx) {
        const info = ctx.node.info();
        sendJSON(ctx.res, 200, { ...info, primary: info.primary === undefined ? undefined : { hostname: info.primary.hostname } });
      },
    },
  },
  "/promote": {
    POST: {
      auth: true,
      async run(ctx) {
        if (!ctx.node.leaser.candidate) throw new ClusterError("handoff", "this node is not a candidate (lease.candidate: false)");
        if (!ctx.node.isPrimary) await ctx.node.promote();
        sendJSON(ctx.res, 200, { isPrimary: true });
      },
    },
  },
  "/handoff": {
    POST: {
      auth: true,
      node: true,
      async run(ctx) {
        const nodeId = ctx.url.searchParams.get("nodeID") ?? "";
        if (!/^[0-9A-F]{16}$/.test(nodeId)) throw new ClusterError("invalid-argument", `nodeID ${JSON.stringify(nodeId)}: 16 uppercase hex digits expected`);
        await ctx.node.handoff(nodeId);
        sendJSON(ctx.res, 200, {});
      },
    },
  },
  "/import": {
    POST: {
      auth: true,
      async run(ctx) {
        requirePrimary(ctx);
        const pos = await importDatabase(ctx.node, name(ctx), ctx.req);
        sendJSON(ctx.res, 200, { txid: formatTxid(pos.txid), checksum: formatChecksum(pos.checksum) });
      },
    },
  },
  "/export": {
    GET: {
      auth: false,
      async run(ctx) {
        await exportDatabase(ctx.node, name(ctx), ctx.res, ctx.signal);
      },
    },
  },
  "/checksums": {
    GET: {
      auth: true,
      node: true,
      async run(ctx) {
        const db = ctx.node.store.require(name(ctx));
        const from = Number(ctx.url.searchParams.get("from") ?? "1");
        const to = Number(ctx.url.searchParams.get("to") ?? String(db.position.txid));
        if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from || to - from > 65_536)
          throw new ClusterError("invalid-argument", `from=${from} to=${to}: a range of at most 65,536 TXIDs`);
        const checksums: Record<string, string> = {};
        for (let txid = from; txid <= Math.min(to, db.position.txid); txid++) {
          const sum = db.checksumAt(txid);
          if (sum !== undefined) checksums[String(txid)] = formatChecksum(sum);
        }
        sendJSON(ctx.res, 200, { txid: formatTxid(db.position.txid), checksums });
      },
    },
  },
  "/events": {
    GET: {
      auth: false,
      async run(ctx) {
        const { node, res } = ctx;
        res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
        const line = (obj: unknown) => `${JSON.stringify(obj)}\n`;
        res.write(line({ type: "init", data: { isPrimary: node.isPrimary, hostname: node.isPrimary ? node.leaser.hostname : (node.primaryHostname() ?? undefined) } }));
        let backlog = 0;
        res.on("drain", () => (backlog = 0));
        await new Promise<void>((resolve) => {
          const unsubscribe = node.events.subscribe((event) => {
            const json = litefsEventJSON(event);
            if (json === undefined || res.destroyed) return;
            if (!res.write(line(json))) backlog++;
            if (backlog > EVENTS_BACKLOG) {
              node.logger.warn("dropping a slow /events consumer", { backlog });
              res.destroy();
            }
          });
          ctx.signal.addEventListener("abort", () => {
            unsubscribe();
            if (!res.writableEnded) res.end();
            resolve();
          });
        });
      },
    },
  },
  "/metrics": {
    GET: {
      auth: false,
      async run(ctx) {
        const text = metricsText(ctx.node, ctx.counters);
        ctx.res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
        ctx.res.end(text);
      },
    },
  },
};

function requirePrimary(ctx: RequestContext) {
  const role = ctx.node.primary;
  if (role === undefined || !role.writable) throw new ClusterError("not-primary", "this node is not the primary", { retryable: true });
  return role;
}

function haltId(ctx: RequestContext, param: string): string {
  const id = ctx.url.searchParams.get(param) ?? "";
  if (!/^-?\d{1,20}$/.test(id)) throw new ClusterError("invalid-argument", `${param}=${JSON.stringify(id)}: an integer expected`);
  return id;
}
