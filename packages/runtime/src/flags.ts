/**
 * Command-line flags the way Go's `flag` package reads them (Litestream's parser):
 * `-name value`, `-name=value`, `--name` too; a boolean flag takes no separate value
 * (`-flag=false` to turn it off); flags come before positional arguments; `--` ends them.
 */

import { FlagValueError, HelpRequested, UsageError } from "./errors.js";

interface FlagBase {
  /** One line (or a few) for the usage text. */
  usage: string;
  /** The value's name in the usage text (`-o PATH`). */
  placeholder?: string;
}

/** The kinds of flag a command can declare. */
export type FlagSpec =
  | (FlagBase & { type: "boolean" })
  | (FlagBase & { type: "string"; default?: string })
  | (FlagBase & { type: "integer"; default?: number; min?: number })
  /**
   * A flag that may stand alone (meaning `bare`) or take one of `values`, either as
   * `-flag=value` or as the next argument when that argument is one of `values`.
   */
  | (FlagBase & { type: "choice"; values: readonly string[]; bare: string });

/** A command's flags by name. */
export type FlagSpecs = Record<string, FlagSpec>;

type FlagValue<S extends FlagSpec> = S extends { type: "boolean" }
  ? boolean
  : S extends { type: "integer"; default: number }
    ? number
    : S extends { type: "integer" }
      ? number | undefined
      : S extends { type: "string"; default: string }
        ? string
        : string | undefined;

/** Parsed flags: each by its name, plus which were given explicitly. */
export type FlagValues<S extends FlagSpecs> = { [K in keyof S]: FlagValue<S[K]> };

/** What {@link parseFlags} returns. */
export interface ParsedArgs<S extends FlagSpecs> {
  flags: FlagValues<S>;
  /** Names of the flags given on the command line (not defaulted). */
  given: ReadonlySet<keyof S & string>;
  positionals: string[];
}

/** Declares a command's flags with their types kept (a typed identity). */
export function defineFlags<const S extends FlagSpecs>(specs: S): S {
  return specs;
}

/** Parses `args` (the words after the command name) against `specs`. */
export function parseFlags<S extends FlagSpecs>(args: readonly string[], specs: S): ParsedArgs<S> {
  const flags: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) flags[name] = spec.type === "boolean" ? false : "default" in spec ? spec.default : undefined;
  const given = new Set<string>();
  let i = 0;
  let terminated = false;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      i++;
      terminated = true;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    if (body === "" || body.startsWith("-") || body.startsWith("=")) throw new UsageError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = specs[name];
    if (!spec) {
      if (name === "h" || name === "help") throw new HelpRequested();
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
    if (given.has(name)) throw new UsageError(`flag -${name} given twice`);
    given.add(name);
    let text = inline;
    if (spec.type === "choice" && text === undefined && spec.values.includes(args[i + 1] ?? "")) text = args[++i]!;
    if (text === undefined && spec.type !== "boolean" && spec.type !== "choice") {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: -${name}`);
      text = args[++i]!;
    }
    flags[name] = convert(name, spec, text);
  }
  const positionals = args.slice(i);
  const stray = terminated ? undefined : positionals.find((arg, n) => n > 0 && /^--?[A-Za-z]/.test(arg));
  if (stray !== undefined) {
    throw new UsageError(`flag ${stray.split("=")[0]} must come before the arguments (${positionals[0]} …): Go-style flags stop at the first argument`);
  }
  return { flags: flags as FlagValues<S>, given: given as Set<keyof S & string>, positionals };
}

function convert(name: string, spec: FlagSpec, text: string | undefined): unknown {
  switch (spec.type) {
    case "boolean":
      if (text === undefined) return true;
      if (/^(1|t|true|TRUE|True)$/.test(text)) return true;
      if (/^(0|f|false|FALSE|False)$/.test(text)) return false;
      throw new FlagValueError(`invalid boolean value ${JSON.stringify(text)} for -${name}: parse error`);
    case "string":
      return text;
    case "integer": {
      const n = /^[+-]?\d+$/.test(text!) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n)) throw new FlagValueError(`invalid value ${JSON.stringify(text)} for flag -${name}: parse error`);
      if (spec.min !== undefined && n < spec.min) throw new FlagValueError(`invalid value ${JSON.stringify(text)} for flag -${name}: must be at least ${spec.min}`);
      return n;
    }
    case "choice":
      if (text === undefined) return spec.bare;
      if (!spec.values.includes(text)) throw new FlagValueError(`invalid value ${JSON.stringify(text)} for flag -${name}: expected one of ${spec.values.join(", ")}`);
      return text;
  }
}

/** The "Arguments:" block of a usage text, from the flag specs, in Litestream's layout. */
export function describeFlags(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([name, spec]) => {
      const value = spec.type === "boolean" ? "" : spec.type === "choice" ? `[=${spec.values.join("|")}]` : ` ${spec.placeholder ?? "VALUE"}`;
      const lines = spec.usage.split("\n").map((line) => `\t    ${line}`);
      return `\t-${name}${value}\n${lines.join("\n")}\n`;
    })
    .join("\n");
}
