/** Variables for {@link expandEnv}: `process.env` or any plain record. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A `$VAR` whose variable is not set (it expands to nothing, as in Go's `os.Expand`). */
export interface UnsetVariable {
  name: string;
  /** Where the reference starts in the text as written. */
  offset: number;
  /** Where the (empty) expansion sits in the expanded text. */
  expandedOffset: number;
}

/** Shell special parameters that `$x` and `${x}` take as a one-character name. */
const SPECIAL = "*#$@!?-0123456789";

function isNameChar(c: string): boolean {
  return /^[A-Za-z0-9_]$/.test(c);
}

/**
 * Replaces `$VAR` and `${VAR}` in `text` with values from `env`, with the semantics of
 * Go's `os.Expand` (what Litestream and LiteFS apply to their config files): an unset
 * variable becomes the empty string; `$` followed by nothing name-like stays; a
 * malformed `${` or `${}` is dropped; a shell special character after `$` (`$$`, `$1`,
 * `$?`) is a one-character name, so `$$` is looked up as the variable `$`.
 * `onUnset` hears of every reference to a variable that is not set.
 */
export function expandEnv(text: string, env: Env, onUnset?: (unset: UnsetVariable) => void): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length - 1; i++) {
    if (text[i] !== "$") continue;
    const [name, width] = readName(text, i + 1);
    out += text.slice(from, i);
    const value = name === "" ? undefined : env[name];
    if (name !== "" && value === undefined) onUnset?.({ name, offset: i, expandedOffset: out.length });
    if (name !== "") out += value ?? "";
    else if (width === 0) out += "$";
    // else: malformed braces, dropped
    i += width;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** The variable name after a `$` at `at`, and how many characters it spans. */
function readName(text: string, at: number): [name: string, width: number] {
  const first = text[at]!;
  if (first === "{") {
    const close = text.indexOf("}", at + 1);
    if (close < 0) return ["", 1];
    if (close === at + 1) return ["", 2];
    return [text.slice(at + 1, close), close - at + 1];
  }
  if (SPECIAL.includes(first)) return [first, 1];
  let end = at;
  while (end < text.length && isNameChar(text[end]!)) end++;
  return [text.slice(at, end), end - at];
}
