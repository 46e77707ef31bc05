import { readFile } from "node:fs/promises";
import { expandEnv, type Env } from "./env.js";
import { ConfigError } from "./errors.js";
import { Cursor, readNode, type Schema } from "./schema.js";
import { parseYaml, type YamlNode } from "./yaml.js";

/** Options of {@link parseConfig} and {@link loadConfigFile}. */
export interface ParseConfigOptions {
  /** The file name used in messages. */
  file?: string;
  /** Expand `$VAR`/`${VAR}` in the raw text before parsing (default true). */
  expandEnv?: boolean;
  /** Variables for the expansion (default `process.env`). */
  env?: Env;
}

/**
 * Validates YAML text against a schema. Environment variables are expanded in the raw
 * text first (as Litestream and LiteFS do), so a variable holding a newline shifts the
 * line numbers of what follows it. An empty document reads as an empty map.
 */
export function parseConfig<T>(text: string, schema: Schema<T>, options: ParseConfigOptions = {}): T {
  const expanded = options.expandEnv === false ? text : expandEnv(text, options.env ?? process.env);
  const source = parseYaml(expanded, options.file);
  const root = (source.doc.contents as YamlNode | null) ?? (source.doc.createNode({}) as YamlNode);
  return readNode(schema, new Cursor(source, "", root));
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
