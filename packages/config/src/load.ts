/** The config entry points: read a file, expand `$VAR`s, parse YAML and validate it against a schema, warning of unset variables. */
import { readFile } from "node:fs/promises";
import { expandEnv, type Env, type UnsetVariable } from "./env.js";
import { ConfigError, type ConfigLocation } from "./errors.js";
import { Cursor, readNode, type Schema } from "./schema.js";
import { keyPathAt, parseYaml, type YamlNode, type YamlSource } from "./yaml.js";

/** Options of {@link parseConfig} and {@link loadConfigFile}. */
export interface ParseConfigOptions {
  /** The file name used in messages. */
  file?: string;
  /** Expand `$VAR`/`${VAR}` in the raw text before parsing (default true). */
  expandEnv?: boolean;
  /** Variables for the expansion (default `process.env`). */
  env?: Env;
  /**
   * Told of every `$VAR` whose variable is not set: it expands to nothing (as in
   * Litestream and LiteFS), which turns `$DBDIR/db.sqlite` into `/db.sqlite`; a program
   * should say so at start.
   */
  warn?: (warning: ConfigWarning) => void;
}

/** Something in a config file that is allowed but probably not meant. */
export interface ConfigWarning {
  code: "unset-variable";
  /** `/etc/litestream.yml:4:11: dbs[0].path: $DBDIR is not set, so it expands to nothing` */
  message: string;
  variable: string;
  location: ConfigLocation;
}

/**
 * Validates YAML text against a schema. Environment variables are expanded in the raw
 * text first (as Litestream and LiteFS do), so a variable holding a newline shifts the
 * line numbers of what follows it. An empty document reads as an empty map.
 */
export function parseConfig<T>(text: string, schema: Schema<T>, options: ParseConfigOptions = {}): T {
  const unset: UnsetVariable[] = [];
  const expanded = options.expandEnv === false ? text : expandEnv(text, options.env ?? process.env, (u) => unset.push(u));
  const source = parseYaml(expanded, options.file);
  const root = (source.doc.contents as YamlNode | null) ?? (source.doc.createNode({}) as YamlNode);
  const value = readNode(schema, new Cursor(source, "", root));
  if (options.warn !== undefined) for (const u of unset) options.warn(unsetWarning(source, root, text, u));
  return value;
}

/** The warning for an unset variable: the file, line and column as written, and the key whose value holds it. */
function unsetWarning(source: YamlSource, root: YamlNode, raw: string, u: UnsetVariable): ConfigWarning {
  const before = raw.slice(0, u.offset);
  const line = before.split("\n").length;
  const column = u.offset - before.lastIndexOf("\n");
  const location: ConfigLocation = { file: source.file, keyPath: keyPathAt(root, u.expandedOffset), line, column };
  const reason = `$${u.name} is not set, so it expands to nothing`;
  return { code: "unset-variable", variable: u.name, location, message: new ConfigError("invalid-value", reason, location).message };
}

/** Reads and validates a config file; a missing file is `ConfigError("not-found")`. */
export async function loadConfigFile<T>(path: string, schema: Schema<T>, options: Omit<ParseConfigOptions, "file"> & { file?: string } = {}): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigError("not-found", "config file not found", { file: path, cause: err });
    throw new ConfigError("parse", `cannot read config file: ${(err as Error).message}`, { file: path, cause: err });
  }
  return parseConfig(text, schema, { ...options, file: options.file ?? path });
}
