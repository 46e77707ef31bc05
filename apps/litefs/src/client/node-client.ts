/**
 * The litefs commands' client of a running node's HTTP API (`-url`, default
 * `http://localhost:20202` as LiteFS): `/info`, `/metrics`, `/checksums`, `/import`,
 * `/export`, `/promote`, with the cluster's auth token and errors that name the URL.
 */
import { LitefsError } from "../errors.js";

/** LiteFS's default API address. */
export const DEFAULT_URL = "http://localhost:20202";

/** `/info` as the node answers it. */
export interface NodeInfoJson {
  clusterID?: string;
  isPrimary: boolean;
  candidate: boolean;
  path: string;
  nodeID?: string;
  primary?: { hostname?: string };
}

/** One sample of the node's Prometheus text. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A client of one node. `token` is `LITEFS_AUTH_TOKEN` (sent as a bearer token when set). */
export class NodeClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly token: string | undefined,
    private readonly signal?: AbortSignal,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw new LitefsError("unavailable", `-url ${JSON.stringify(url)} is not a URL`, { cause: err, url, retryable: false });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw new LitefsError("unavailable", `-url ${url}: only http:// and https:// are supported`, { url, retryable: false });
    this.url = `${parsed.protocol}//${parsed.host}`;
  }

  /** Sends a request; any non-2xx answer becomes a LitefsError naming the URL and what the node said. */
  async request(method: "GET" | "POST", path: string, body?: Uint8Array): Promise<Response> {
    const href = `${this.url}${path}`;
    const headers: Record<string, string> = {};
    if (this.token !== undefined && this.token !== "") headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/octet-stream";
    let res: Response;
    try {
      res = await fetch(href, { method, headers, body, signal: this.signal });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new LitefsError("unavailable", `cannot reach the litefs node at ${this.url} (${method} ${path}): ${why}; is litefs mount running there?`, {
        cause: err,
        url: this.url,
      });
    }
    if (res.ok) return res;
    const text = (await res.text().catch(() => "")).trim();
    let message = text.slice(0, 500);
    let code: string | undefined;
    try {
      const json = JSON.parse(text) as { error?: unknown; code?: unknown };
      if (typeof json.error === "string") message = json.error;
      if (typeof json.code === "string") code = json.code;
    } catch {
      // not JSON: keep the text
    }
    const what = `${method} ${href}: ${res.status} ${message || res.statusText}`;
    if (code === "not-found" || res.status === 404) throw new LitefsError("not-found", what, { url: this.url, status: res.status });
    if (code === "not-primary") throw new LitefsError("not-primary", what, { url: this.url, status: res.status });
    if (res.status === 401) throw new LitefsError("http", `${what} (set LITEFS_AUTH_TOKEN to the cluster's http.auth-token)`, { url: this.url, status: 401 });
    throw new LitefsError("http", what, { url: this.url, status: res.status, retryable: res.status >= 500 });
  }

  /** `GET /info`. */
  async info(): Promise<NodeInfoJson> {
    return (await (await this.request("GET", "/info")).json()) as NodeInfoJson;
  }

  /** `GET /metrics`, parsed (families and labels as the node names them). */
  async metrics(): Promise<MetricSample[]> {
    return parseMetrics(await (await this.request("GET", "/metrics")).text());
  }

  /** The checksum of `db` after `txid`, from `/checksums` (undefined when the node no longer knows it). */
  async checksumAt(db: string, txid: number): Promise<string | undefined> {
    const res = await this.request("GET", `/checksums?name=${encodeURIComponent(db)}&from=${txid}&to=${txid}`);
    const json = (await res.json()) as { checksums?: Record<string, string> };
    return json.checksums?.[String(txid)];
  }
}

/** Parses Prometheus's text format (0.0.4): samples with their labels; comments skipped. */
export function parseMetrics(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l = re.exec(m[2] ?? ""); l !== null; l = re.exec(m[2] ?? "")) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The client for a command's `-url` flag, with `LITEFS_AUTH_TOKEN` from the command's environment. */
export function clientFor(url: string | undefined, env: NodeJS.ProcessEnv, signal?: AbortSignal): NodeClient {
  return new NodeClient(url ?? DEFAULT_URL, env.LITEFS_AUTH_TOKEN, signal);
}
