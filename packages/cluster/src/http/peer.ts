/**
 * Requests from one node to another (the stream, halt, forwarded transactions,
 * handoff, checksums): plain HTTP/1.1 with the node's identity, the cluster ID and the
 * auth token, errors as `ClusterError`s naming the URL.
 */
import { request, type IncomingMessage } from "node:http";
import { ClusterError } from "../errors.js";

/** Headers every node sends and answers with. */
export const HEADER_NODE_ID = "litefs-id";
export const HEADER_CLUSTER_ID = "litefs-cluster-id";
/** The lease epoch of a primary's stream (also carried by every LTX frame). */
export const HEADER_EPOCH = "litefs-epoch";
/** Sent by a replica on `/stream`: whether it may become primary (`lease.candidate`), so a stopping primary hands off only to a candidate. */
export const HEADER_CANDIDATE = "litefs-candidate";

/** Who is asking. */
export interface PeerIdentity {
  readonly nodeId: string;
  readonly clusterId: string | undefined;
  /** `http.auth-token`: sent as `Authorization: Bearer …` when set. */
  readonly authToken: string | undefined;
  /** `lease.candidate`, sent as `Litefs-Candidate` when known. */
  readonly candidate?: boolean | undefined;
}

/** Options of {@link peerRequest}. */
export interface PeerRequestOptions {
  method: "GET" | "POST" | "DELETE";
  /** Path and query, e.g. `/halt?name=app.db&id=1`. */
  path: string;
  body?: Uint8Array | undefined;
  signal?: AbortSignal | undefined;
  /** Gives up (retryable `unavailable`) after this long (default 10 s); 0: never. */
  timeoutMs?: number | undefined;
}

/** A peer's answer with its body read. */
export interface PeerResponse {
  status: number;
  headers: IncomingMessage["headers"];
  body: Uint8Array;
}

/** Sends a request and reads the whole answer. Non-2xx answers are returned, not thrown. */
export async function peerRequest(baseURL: string, identity: PeerIdentity, options: PeerRequestOptions): Promise<PeerResponse> {
  const res = await openPeerRequest(baseURL, identity, options);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return { status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
}

/** Sends a request and resolves with the answer's headers; its body is the caller's to read (a stream). */
export function openPeerRequest(baseURL: string, identity: PeerIdentity, options: PeerRequestOptions): Promise<IncomingMessage> {
  const url = new URL(options.path, baseURL);
  const headers: Record<string, string | number> = { [HEADER_NODE_ID]: identity.nodeId };
  if (identity.clusterId !== undefined) headers[HEADER_CLUSTER_ID] = identity.clusterId;
  if (identity.authToken !== undefined && identity.authToken !== "") headers.authorization = `Bearer ${identity.authToken}`;
  if (identity.candidate !== undefined) headers[HEADER_CANDIDATE] = String(identity.candidate);
  if (options.body !== undefined) {
    headers["content-type"] = "application/octet-stream";
    headers["content-length"] = options.body.length;
  }
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: unknown) => {
      clearTimeout(timer);
      reject(
        err instanceof ClusterError ? err : new ClusterError("unavailable", `${options.method} ${url.href} failed: ${(err as Error).message}`, { cause: err, retryable: true }),
      );
    };
    const req = request(url, { method: options.method, headers, agent: false, signal: options.signal }, (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.setNoDelay(true);
    req.on("error", fail);
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        const err = new ClusterError("unavailable", `${options.method} ${url.href}: no answer within ${timeoutMs} ms`, { retryable: true });
        req.destroy(err);
      }, timeoutMs);
    }
    req.end(options.body === undefined ? undefined : Buffer.from(options.body.buffer, options.body.byteOffset, options.body.byteLength));
  });
}

/** The text of a peer's error answer (for messages). */
export function answerText(res: PeerResponse): string {
  const text = Buffer.from(res.body).toString("utf8").trim();
  try {
    const json = JSON.parse(text) as { error?: string };
    if (typeof json.error === "string") return json.error;
  } catch {
    // not JSON
  }
  return text.slice(0, 500);
}
