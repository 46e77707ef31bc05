/**
 * The tools of `replicate`'s MCP server (`mcp-addr`), named and shaped as Litestream v0.5's:
 * each runs a litestream command in this process and answers with its output.
 */

/** One argument of a tool: its JSON type and what it means. */
interface ToolParam {
  type: "string" | "boolean";
  description: string;
  required?: boolean;
}

/** A tool as `tools/list` describes it, and how a call becomes a command line. */
export interface McpTool {
  name: string;
  description: string;
  params: Record<string, ToolParam>;
  readOnly: boolean;
  /** The litestream command lines the call runs (several for `litestream_info`), from checked arguments. */
  argv(args: ToolArgs, config: string | undefined): string[][];
}

/** A call's arguments after checking: strings and booleans by name. */
export type ToolArgs = Record<string, string | boolean | undefined>;

const CONFIG: ToolParam = { type: "string", description: "Path to the Litestream config file. Optional (defaults to the one replicate runs with)." };

/** `-config FILE` when there is one (replicate started as `replicate DB URL` has none). */
const configArgs = (args: ToolArgs, config: string | undefined): string[] => {
  const file = (args["config"] as string | undefined) ?? config;
  return file === undefined ? [] : ["-config", file];
};

/** Litestream v0.5's tools (cmd/litestream/mcp.go at v0.5.x): same names, arguments and read-only hints. */
export const MCP_TOOLS: readonly McpTool[] = [
  {
    name: "litestream_databases",
    description: "List databases and their replicas as defined in the Litestream config file.",
    params: { config: CONFIG },
    readOnly: true,
    argv: (a, c) => [["databases", ...configArgs(a, c)]],
  },
  {
    name: "litestream_info",
    description: "Get a summary of Litestream's current state: version, config path, databases and their replication status.",
    params: { config: CONFIG },
    readOnly: true,
    argv: (a, c) => [["version"], ["databases", ...configArgs(a, c)], ["status", ...configArgs(a, c)]],
  },
  {
    name: "litestream_restore",
    description: "Restore a database from a Litestream replica.",
    params: {
      path: { type: "string", required: true, description: "Database path or replica URL." },
      o: { type: "string", description: "Output path for the restored database. Optional." },
      config: CONFIG,
      txid: { type: "string", description: "Restore up to and including this TXID (16 hex digits). Optional." },
      timestamp: { type: "string", description: "Restore to a specific point in time (RFC 3339). Optional." },
      parallelism: { type: "string", description: "Number of ranged downloads in flight. Optional." },
      if_db_not_exists: { type: "boolean", description: "Succeed without restoring if the database already exists. Optional." },
      if_replica_exists: { type: "boolean", description: "Succeed without restoring if no backups are found. Optional." },
    },
    readOnly: false,
    argv: (a, c) => {
      const out = ["restore", ...(String(a["path"]).includes("://") ? [] : configArgs(a, c))];
      for (const name of ["o", "txid", "timestamp", "parallelism"]) if (a[name] !== undefined) out.push(`-${name}`, a[name] as string);
      if (a["if_db_not_exists"] === true) out.push("-if-db-not-exists");
      if (a["if_replica_exists"] === true) out.push("-if-replica-exists");
      return [[...out, a["path"] as string]];
    },
  },
  {
    name: "litestream_version",
    description: "Print the Litestream version.",
    params: {},
    readOnly: true,
    argv: () => [["version"]],
  },
  {
    name: "litestream_ltx",
    description: "List all LTX files for a database or replica.",
    params: { path: { type: "string", required: true, description: "Database path or replica URL." }, config: CONFIG },
    readOnly: true,
    argv: (a, c) => [["ltx", ...(String(a["path"]).includes("://") ? [] : configArgs(a, c)), a["path"] as string]],
  },
  {
    name: "litestream_status",
    description: "Display replication status: database path, status, local TXID and WAL size.",
    params: { config: CONFIG, path: { type: "string", description: "Filter to a specific database path. Optional." } },
    readOnly: true,
    argv: (a, c) => [["status", ...configArgs(a, c), ...(a["path"] !== undefined ? [a["path"] as string] : [])]],
  },
  {
    name: "litestream_reset",
    description: "Clear local Litestream state for a database, forcing a fresh snapshot on the next sync. The database file is not modified.",
    params: { path: { type: "string", required: true, description: "Database path to reset." }, config: CONFIG },
    readOnly: false,
    argv: (a, c) => [["reset", ...configArgs(a, c), a["path"] as string]],
  },
];

/** The `tools/list` entry of a tool (JSON Schema of its arguments, MCP annotations). */
export function describeTool(tool: McpTool): Record<string, unknown> {
  const required = Object.entries(tool.params)
    .filter(([, p]) => p.required)
    .map(([name]) => name);
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: {
      type: "object",
      properties: Object.fromEntries(Object.entries(tool.params).map(([name, p]) => [name, { type: p.type, description: p.description }])),
      ...(required.length > 0 ? { required } : {}),
    },
    annotations: tool.readOnly ? { readOnlyHint: true } : { readOnlyHint: false, destructiveHint: true },
  };
}

/** Checks a call's `arguments` against the tool's parameters; returns the problem, or the arguments. */
export function checkArgs(tool: McpTool, raw: unknown): ToolArgs | string {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) return "arguments must be an object";
  const args: ToolArgs = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const param = tool.params[name];
    if (param === undefined) return `unknown argument ${JSON.stringify(name)} for ${tool.name}`;
    if (typeof value !== param.type) return `argument ${JSON.stringify(name)} of ${tool.name} must be a ${param.type}`;
    if (param.type === "string" && (value as string).startsWith("-")) return `argument ${JSON.stringify(name)} of ${tool.name} must not start with "-"`;
    args[name] = value as string | boolean;
  }
  for (const [name, param] of Object.entries(tool.params)) {
    if (param.required && (args[name] === undefined || args[name] === "")) return `argument ${JSON.stringify(name)} of ${tool.name} is required`;
  }
  return args;
}
