/**
 * The strict config schema builders (object, list, string, duration, …): they read a YAML
 * node into typed values and reject unknown keys and bad values at their exact position.
 */
import { isMap, isScalar, isSeq, type Pair, type YAMLMap } from "yaml";
import { parseDuration } from "./duration.js";
import { ConfigError, isConfigError, type ConfigErrorCode, type ConfigLocation } from "./errors.js";
import { parseByteSize } from "./size.js";
import { suggest } from "./suggest.js";
import { deref, describeNode, isNull, positionAt, type YamlNode, type YamlSource } from "./yaml.js";

/**
 * Where a schema is reading: the node, its key path, and the file. Schemas and
 * `check`/`transform` callbacks raise errors through it so that every error names
 * the file, the key path, the line and the column.
 */
export class Cursor {
  /** @internal */
  constructor(
    readonly source: YamlSource,
    /** e.g. `dbs[0].replicas[1]`; empty at the root. */
    readonly path: string,
    readonly node: YamlNode | undefined,
    private readonly keyNode?: YamlNode,
    private readonly parent?: Cursor,
  ) {}

  /** The cursor of a map entry or list item below this one. */
  child(segment: string | number, node: YamlNode | undefined, keyNode?: YamlNode): Cursor {
    const path = typeof segment === "number" ? `${this.path}[${segment}]` : this.path ? `${this.path}.${segment}` : segment;
    return new Cursor(this.source, path, deref(this.source, node), keyNode, this);
  }

  /** Whether this map has `key` with a non-null value (defaults do not count). */
  has(key: string): boolean {
    return !isNull(deref(this.source, this.pair(key)?.value as YamlNode | undefined));
  }

  /** Where this node (or its entry `key`) is. */
  locate(key?: string): ConfigLocation {
    if (key !== undefined) {
      const pair = this.pair(key);
      const keyPath = this.path ? `${this.path}.${key}` : key;
      if (pair) return { file: this.source.file, keyPath, ...this.offsetOf((pair.key as YamlNode).range?.[0]) };
      return { ...this.locate(), keyPath };
    }
    const anchor = this.node?.range ? this.node : this.keyNode;
    const offset = anchor?.range?.[0];
    if (offset === undefined && this.parent) return { ...this.parent.locate(), keyPath: this.path };
    return { file: this.source.file, keyPath: this.path, ...this.offsetOf(offset) };
  }

  /** Where this node's key is (its value when it has no key, e.g. a list item). */
  locateKey(): ConfigLocation {
    const offset = this.keyNode?.range?.[0];
    return offset === undefined ? this.locate() : { file: this.source.file, keyPath: this.path, ...this.offsetOf(offset) };
  }

  /** A `ConfigError` at this node, or at its entry `key`. */
  error(code: ConfigErrorCode, reason: string, key?: string, cause?: unknown): ConfigError {
    return new ConfigError(code, reason, { ...this.locate(key), cause });
  }

  /** Throws {@link error}. */
  fail(code: ConfigErrorCode, reason: string, key?: string, cause?: unknown): never {
    throw this.error(code, reason, key, cause);
  }

  private offsetOf(offset: number | undefined): { line?: number; column?: number } {
    return offset === undefined ? {} : positionAt(this.source, offset);
  }

  private pair(key: string): Pair | undefined {
    return isMap(this.node) ? mapEntries(this.source, this.node, this).get(key)?.pair : undefined;
  }
}

/** A reader that validates one YAML node into a `T`. */
export abstract class Schema<T> {
  /** The TypeScript type this schema produces (type-level only). */
  declare readonly _output: T;
  /** Whether a map may leave this key out (see {@link optional} and {@link default}). */
  readonly isOptional: boolean = false;

  /** Reads a present, non-null node. */
  abstract read(at: Cursor): T;

  /** Reads a node that may be absent or null (a missing key unless optional). */
  readAbsent(at: Cursor): T {
    return at.fail("missing-key", at.node === undefined ? "required key is missing" : "has no value");
  }

  /** The key may be absent (or null); the result is then `undefined`. */
  optional(): Schema<T | undefined> & { readonly isOptional: true } {
    return new OptionalSchema(this, () => undefined);
  }

  /** The key may be absent (or null); the result is then `value`. */
  default(value: T): Schema<T> & { readonly isOptional: true } {
    return new OptionalSchema(this, () => value);
  }

  /** Maps the value; `fn` may throw through `at.fail`. */
  transform<U>(fn: (value: T, at: Cursor) => U): Schema<U> {
    return new TransformSchema(this, fn);
  }

  /** Validates the value further; `fn` throws through `at.fail` (e.g. `at.fail("conflict", …, "bucket")`). */
  check(fn: (value: T, at: Cursor) => void): Schema<T> {
    return new TransformSchema(this, (value, at) => {
      fn(value, at);
      return value;
    });
  }
}

class OptionalSchema<T, D> extends Schema<T | D> {
  override readonly isOptional = true as const;
  constructor(
    private readonly inner: Schema<T>,
    private readonly fallback: () => D,
  ) {
    super();
  }
  read(at: Cursor): T {
    return this.inner.read(at);
  }
  override readAbsent(): D {
    return this.fallback();
  }
}

class TransformSchema<T, U> extends Schema<U> {
  override readonly isOptional: boolean;
  constructor(
    private readonly inner: Schema<T>,
    private readonly fn: (value: T, at: Cursor) => U,
  ) {
    super();
    this.isOptional = inner.isOptional;
  }
  read(at: Cursor): U {
    return this.fn(this.inner.read(at), at);
  }
  override readAbsent(at: Cursor): U {
    return this.fn(this.inner.readAbsent(at), at);
  }
}

/** Reads a node, or its absence, with a schema (aliases followed). */
export function readNode<T>(schema: Schema<T>, at: Cursor): T {
  return isNull(at.node) ? schema.readAbsent(at) : schema.read(at);
}

/** A scalar schema: `parse` turns the scalar (or its source text) into a value or a reason. */
class ScalarSchema<T> extends Schema<T> {
  constructor(
    private readonly expected: string,
    private readonly parse: (value: unknown, text: string) => T,
  ) {
    super();
  }
  read(at: Cursor): T {
    const node = at.node;
    if (!isScalar(node)) return at.fail("invalid-value", `expected ${this.expected}, got ${describeNode(node)}`);
    const text = typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
    try {
      return this.parse(node.value, text);
    } catch (err) {
      if (isConfigError(err)) return at.fail(err.code, err.reason, undefined, err.cause);
      throw err;
    }
  }
}

function invalid(reason: string): never {
  throw new ConfigError("invalid-value", reason);
}

/** Options of {@link string}. */
export interface StringOptions {
  /** Reject `""`. */
  nonEmpty?: boolean;
  /** A pattern the value must match, with what it means for the message. */
  pattern?: { regex: RegExp; description: string };
}

/**
 * A string. Like Go's YAML decoders, any scalar is accepted and read as written, so
 * `bucket: 2024` and `secret: 0123` are the strings "2024" and "0123".
 */
export function string(options: StringOptions = {}): Schema<string> {
  return new ScalarSchema("a string", (_value, text) => {
    if (options.nonEmpty && text === "") invalid("must not be empty");
    if (options.pattern && !options.pattern.regex.test(text)) invalid(`expected ${options.pattern.description}, got ${JSON.stringify(text)}`);
    return text;
  });
}

/** One of a few strings; `ignoreCase` accepts any case and returns the listed spelling. */
export function oneOf<const V extends string>(values: readonly V[], options: { ignoreCase?: boolean } = {}): Schema<V> {
  const list = values.map((v) => JSON.stringify(v)).join(", ");
  return new ScalarSchema(`one of ${list}`, (_value, text) => {
    const found = values.find((v) => (options.ignoreCase ? v.toLowerCase() === text.toLowerCase() : v === text));
    return found ?? invalid(`expected one of ${list}, got ${JSON.stringify(text)}`);
  });
}

/** YAML 1.1 spellings Go's decoders still accept for booleans. */
const TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"]);
const FALSE = new Set(["n", "N", "no", "No", "NO", "off", "Off", "OFF"]);

/** `true`/`false` (and YAML 1.1's unquoted `yes`/`no`/`on`/`off`, as Go's decoders read them). */
export function boolean(): Schema<boolean> {
  return new ScalarSchema("true or false", (value, text) => {
    if (typeof value === "boolean") return value;
    if (typeof value === "string" && TRUE.has(text)) return true;
    if (typeof value === "string" && FALSE.has(text)) return false;
    return invalid(`expected true or false, got ${typeof value === "string" ? JSON.stringify(text) : text}`);
  });
}

/** Options of {@link integer} and {@link byteSize}. */
export interface RangeOptions {
  min?: number;
  max?: number;
}

function checkRange(n: number, options: RangeOptions, show: (n: number) => string = String): number {
  if (options.min !== undefined && n < options.min) invalid(`must be at least ${show(options.min)}, got ${show(n)}`);
  if (options.max !== undefined && n > options.max) invalid(`must be at most ${show(options.max)}, got ${show(n)}`);
  return n;
}

/** A whole number (a YAML integer, not a quoted string or a fraction). */
export function integer(options: RangeOptions = {}): Schema<number> {
  return new ScalarSchema("an integer", (value, text) => {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      return invalid(`expected an integer, got ${typeof value === "string" ? JSON.stringify(text) : text}`);
    }
    return checkRange(value, options);
  });
}

/**
 * Unix permission bits as Go's YAML decoder reads them (Litestream's `socket.permissions`):
 * `0600` and `0o600` are octal, as is `"0600"` quoted; a plain decimal is taken as is.
 */
export function fileMode(): Schema<number> {
  return new ScalarSchema("permission bits like 0600", (value, text) => {
    const octal = /^0o?([0-7]+)$/.exec(text.trim());
    const decimal = typeof value === "number" && Number.isSafeInteger(value) && !/^0\d/.test(text.trim());
    const n = octal ? Number.parseInt(octal[1]!, 8) : decimal ? (value as number) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 0o7777) return invalid(`expected permission bits like 0600, got ${JSON.stringify(text)}`);
    return n;
  });
}

/** Options of {@link duration}. */
export interface DurationOptions extends RangeOptions {
  /** Accept negative durations (Go does; most settings must not). */
  allowNegative?: boolean;
}

/**
 * A Go duration (`500ms`, `1s`, `1h30m`, `24h`) in milliseconds. A bare `0` is
 * accepted; any other bare number is an error (Go's YAML decoders would read `10`
 * as ten nanoseconds, never what was meant).
 */
export function duration(options: DurationOptions = {}): Schema<number> {
  return new ScalarSchema("a duration such as 1s, 500ms or 1h30m", (value, text) => {
    if (typeof value === "number" && value !== 0) invalid(`invalid duration ${text}: missing unit (write ${text}s for seconds, ${text}ms for milliseconds)`);
    if (typeof value !== "number" && typeof value !== "string") invalid(`expected a duration such as 1s, 500ms or 1h30m, got ${text}`);
    const ms = typeof value === "number" ? 0 : parseDuration(text);
    if (ms < 0 && !options.allowNegative) invalid(`must not be negative, got ${text}`);
    return checkRange(ms, options);
  });
}

/** A byte size: an integer number of bytes, or `64MiB`, `5MB`, `1.5GiB`. */
export function byteSize(options: RangeOptions = {}): Schema<number> {
  return new ScalarSchema("a size such as 4096, 64MiB or 5MB", (value, text) => {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0) invalid(`expected a whole number of bytes, got ${text}`);
      return checkRange(value, options);
    }
    return checkRange(parseByteSize(text), options);
  });
}

/** Remembers where each list and object produced by a schema came from (see {@link locate}). */
const origins = new WeakMap<object, Cursor>();

/** Options of {@link list}. */
export interface ListOptions {
  minItems?: number;
  maxItems?: number;
}

class ListSchema<T> extends Schema<T[]> {
  constructor(
    private readonly item: Schema<T>,
    private readonly options: ListOptions,
  ) {
    super();
  }
  read(at: Cursor): T[] {
    const node = at.node;
    if (!isSeq(node)) return at.fail("invalid-value", `expected a list, got ${describeNode(node)}`);
    const { minItems, maxItems } = this.options;
    if (minItems !== undefined && node.items.length < minItems) at.fail("invalid-value", `needs at least ${minItems} item${minItems === 1 ? "" : "s"}`);
    if (maxItems !== undefined && node.items.length > maxItems) at.fail("invalid-value", `allows at most ${maxItems} item${maxItems === 1 ? "" : "s"}, got ${node.items.length}`);
    const out = node.items.map((item, i) => readNode(this.item, at.child(i, item as YamlNode)));
    origins.set(out, at);
    return out;
  }
}

/** A YAML sequence whose items all read with `item`. */
export function list<T>(item: Schema<T>, options: ListOptions = {}): Schema<T[]> {
  return new ListSchema(item, options);
}

/** A key that is part of the format but not implemented: giving it is an error that says so. */
export class UnsupportedKey extends Schema<never> {
  override readonly isOptional = true as const;
  readonly isUnsupported = true as const;
  constructor(readonly reason: string) {
    super();
  }
  read(at: Cursor): never {
    throw new ConfigError("unsupported", this.reason, at.locateKey());
  }
  override readAbsent(): never {
    return undefined as never;
  }
}

/**
 * A key this program knows but does not implement. `reason` completes "…: " in the
 * message, e.g. `unsupported("not supported by sqlrep (client-side encryption)")`.
 */
export function unsupported(reason: string): UnsupportedKey {
  return new UnsupportedKey(reason);
}

/** The fields of an object schema, by YAML key. */
export type Shape = Record<string, Schema<unknown>>;

/** `sync-interval` → `syncInterval`, at the type level. */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The type a schema produces. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/**
 * What an object schema produces: camel-cased keys; a key whose value may be
 * `undefined` (an `optional()` one) is optional; unsupported keys are gone.
 */
export type ObjectOutput<S extends Shape> = Simplify<
  {
    [K in keyof S as S[K] extends UnsupportedKey ? never : undefined extends Infer<S[K]> ? never : CamelCase<K & string>]: Infer<S[K]>;
  } & {
    [K in keyof S as S[K] extends UnsupportedKey ? never : undefined extends Infer<S[K]> ? CamelCase<K & string> : never]?: Infer<S[K]>;
  }
>;

/** `sync-interval` → `syncInterval`. */
export function camelCase(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

interface Entry {
  pair: Pair;
  merged: boolean;
}

/**
 * The entries of a map by key, merge keys (`<<`) expanded below the map's own keys.
 * Duplicate keys, non-scalar keys and merges of non-maps are errors at `at`.
 */
function mapEntries(source: YamlSource, map: YAMLMap, at: Cursor): Map<string, Entry> {
  const own = new Map<string, Entry>();
  const merged = new Map<string, Entry>();
  for (const pair of map.items as Pair[]) {
    const key = pair.key as YamlNode | null;
    if (isScalar(key) && typeof key.value === "symbol") {
      for (const target of mergeTargets(source, pair.value as YamlNode, at)) {
        for (const [name, entry] of mapEntries(source, target, at)) if (!merged.has(name)) merged.set(name, { ...entry, merged: true });
      }
      continue;
    }
    if (!isScalar(key) || key.value === null) at.fail("invalid-value", `map keys must be plain strings, got ${describeNode(key ?? undefined)}`);
    const name = typeof key.value === "string" ? key.value : (key.source ?? String(key.value));
    const first = own.get(name);
    if (first) {
      const line = first.pair.key && (first.pair.key as YamlNode).range ? positionAt(source, (first.pair.key as YamlNode).range![0]).line : undefined;
      const position = key.range ? positionAt(source, key.range[0]) : {};
      throw new ConfigError("conflict", `duplicate key${line === undefined ? "" : ` (first given on line ${line})`}`, {
        file: source.file,
        keyPath: at.path ? `${at.path}.${name}` : name,
        ...position,
      });
    }
    own.set(name, { pair, merged: false });
  }
  for (const [name, entry] of merged) if (!own.has(name)) own.set(name, entry);
  return own;
}

function mergeTargets(source: YamlSource, value: YamlNode | undefined, at: Cursor): YAMLMap[] {
  const node = deref(source, value);
  if (isMap(node)) return [node];
  if (isSeq(node)) return node.items.flatMap((item) => mergeTargets(source, item as YamlNode, at));
  return at.fail("invalid-value", `a merge key (<<) needs a map or a list of maps, got ${describeNode(node)}`);
}

class ObjectSchema<S extends Shape> extends Schema<ObjectOutput<S>> {
  constructor(readonly shape: S) {
    super();
  }
  read(at: Cursor): ObjectOutput<S> {
    const node = at.node;
    if (!isMap(node)) return at.fail("invalid-value", `expected a map of keys, got ${describeNode(node)}`);
    const entries = mapEntries(at.source, node, at);
    for (const [name, entry] of entries) {
      if (Object.hasOwn(this.shape, name)) continue;
      const hint = suggest(name, Object.keys(this.shape));
      const reason = `unknown key${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ""}`;
      const keyNode = entry.pair.key as YamlNode;
      throw new ConfigError("unknown-key", reason, {
        file: at.source.file,
        keyPath: at.path ? `${at.path}.${name}` : name,
        ...(keyNode.range ? positionAt(at.source, keyNode.range[0]) : {}),
      });
    }
    const out: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(this.shape)) {
      const entry = entries.get(name);
      const value = readNode(schema, at.child(name, entry?.pair.value as YamlNode | undefined, entry?.pair.key as YamlNode | undefined));
      if (value !== undefined && !(schema instanceof UnsupportedKey)) out[camelCase(name)] = value;
    }
    origins.set(out, at);
    return out as ObjectOutput<S>;
  }
}

/**
 * A YAML map with exactly these keys (YAML spelling; the result uses camelCase). Any
 * other key is `ConfigError("unknown-key")` naming its path, with a suggestion when a
 * known key is close; a missing required key is `"missing-key"`.
 */
export function object<S extends Shape>(shape: S): Schema<ObjectOutput<S>> & { readonly shape: S } {
  return new ObjectSchema(shape);
}

/** Reads a node by its shape: a scalar, a map or a list, each with its own schema. */
export function byShape<A = never, B = never, C = never>(readers: { scalar?: Schema<A>; map?: Schema<B>; list?: Schema<C> }): Schema<A | B | C> {
  return new (class extends Schema<A | B | C> {
    read(at: Cursor): A | B | C {
      const node = at.node;
      const schema = isScalar(node) ? readers.scalar : isMap(node) ? readers.map : isSeq(node) ? readers.list : undefined;
      if (!schema) {
        const kinds = [readers.scalar && "a value", readers.map && "a map", readers.list && "a list"].filter(Boolean).join(" or ");
        return at.fail("invalid-value", `expected ${kinds}, got ${describeNode(node)}`);
      }
      return schema.read(at);
    }
  })();
}

/**
 * Where a list or object produced by a schema (or its entry `key`) came from, for
 * errors found after reading: `throw errorAt(db, "path", "invalid-value", "…")`.
 */
export function locate(value: object, key?: string | number): ConfigLocation {
  const at = origins.get(value);
  if (!at) return {};
  if (typeof key === "number") return at.child(key, isSeq(at.node) ? (at.node.items[key] as YamlNode) : undefined).locate();
  return at.locate(key);
}

/** A `ConfigError` located at a value produced by a schema (or its entry `key`). */
export function errorAt(value: object, key: string | number | undefined, code: ConfigErrorCode, reason: string, cause?: unknown): ConfigError {
  return new ConfigError(code, reason, { ...locate(value, key), cause });
}
