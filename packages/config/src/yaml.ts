/** The YAML layer under the schemas: parse keeping every node's position, follow aliases, and map an offset to a line, column or key path. */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from "yaml";
import { ConfigError } from "./errors.js";

export type { YamlNode };

/** A parsed YAML document with what it takes to point at a line and column of it. */
export interface YamlSource {
  /** The file name used in messages (absent for a bare string). */
  readonly file: string | undefined;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

/**
 * Parses YAML 1.2 text into a document that keeps every node's position. Syntax errors
 * (and several documents in one file) are `ConfigError("parse")` with the line and
 * column. Duplicate keys are left to the schema reader, which names their key path.
 * Merge keys (`<<: *anchor`) are allowed, as in Go's yaml packages.
 */
export function parseYaml(text: string, file?: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: false, prettyErrors: false });
  const source: YamlSource = { file, doc, lines };
  const first = doc.errors[0];
  if (first) {
    const reason = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError("parse", `invalid YAML: ${reason}`, { file, ...positionAt(source, first.pos[0]), cause: first });
  }
  return source;
}

/** 1-based line and column of a character offset. */
export function positionAt(source: YamlSource, offset: number): { line: number; column: number } {
  const { line, col } = source.lines.linePos(offset);
  return { line, column: col };
}

/** The node an alias points to (aliases are followed wherever a value is read). */
export function deref(source: YamlSource, node: YamlNode | null | undefined): YamlNode | undefined {
  if (node === null || node === undefined) return undefined;
  return isAlias(node) ? (deref(source, node.resolve(source.doc)) ?? undefined) : node;
}

/** Whether a node stands for "no value" (`key:` or `key: ~` or `null`). */
export function isNull(node: YamlNode | undefined): boolean {
  return node === undefined || (isScalar(node) && node.value === null);
}

/** How a node reads in a message: `a list`, `a map`, `the number 12`, `"text"`. */
export function describeNode(node: YamlNode | undefined): string {
  if (isNull(node)) return "nothing";
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === "string") return JSON.stringify(value);
    if (typeof value === "number") return `the number ${node.source ?? value}`;
    if (typeof value === "boolean") return `the boolean ${node.source ?? value}`;
    return String(node.source ?? value);
  }
  return "a value";
}

/**
 * The key path (`dbs[0].replicas[1].url`) of the innermost value that contains the
 * character at `offset`, or undefined when it is not inside any value (a comment).
 */
export function keyPathAt(node: YamlNode | null | undefined, offset: number, path = ""): string | undefined {
  const contains = (n: YamlNode | null | undefined): boolean => n?.range != null && n.range[0] <= offset && offset <= n.range[1];
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      const keyPath = path ? `${path}.${key}` : key;
      const value = pair.value as YamlNode | null;
      if (contains(value)) return keyPathAt(value, offset, keyPath) ?? keyPath;
      if (contains(pair.key as YamlNode)) return keyPath;
    }
    return undefined;
  }
  if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      if (contains(item as YamlNode)) return keyPathAt(item as YamlNode, offset, `${path}[${i}]`) ?? `${path}[${i}]`;
    }
    return undefined;
  }
  return contains(node) ? path : undefined;
}
