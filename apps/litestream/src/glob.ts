// The `pattern` of a directory entry: Go's filepath.Match globs, which Litestream matches
// database base names with.

/**
 * A glob of Go's `filepath.Match` (what Litestream matches base names with) as a RegExp:
 * `*` any run of characters, `?` one, `[a-z]` / `[^a-z]` classes, `\` escapes. Throws
 * an Error saying what is wrong with a malformed pattern.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "\\") {
      const next = pattern[++i];
      if (next === undefined) throw new Error(`pattern ${JSON.stringify(pattern)} ends with a lone backslash`);
      out += escapeRegExp(next);
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) throw new Error(`pattern ${JSON.stringify(pattern)} has an unclosed [`);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith("^") || body.startsWith("!");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\]\\]/g, "\\$&")}]`;
      i = end;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`, "s");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Throws `fail(message)` when `pattern` is not a valid glob. */
export function checkPattern(pattern: string | undefined, fail: (message: string) => Error): void {
  if (pattern === undefined) return;
  try {
    globToRegExp(pattern);
  } catch (err) {
    throw fail((err as Error).message);
  }
}
