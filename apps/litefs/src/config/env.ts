// LiteFS's environment expansion of litefs.yml: Go's $VAR / ${VAR} plus the comparison
// expressions `${A == "x"}`, `${A != 'x'}`, `${A == B}` that evaluate to true or false.
import { expandEnv } from "@sqlrep/config";

const EXPRESSION = /\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=)\s*("[^"}]*"|'[^'}]*'|[A-Za-z_][A-Za-z0-9_]*)\s*\}/g;

/**
 * Expands `text` as LiteFS does before parsing: each comparison is `true`/`false` (a
 * quoted right side is a literal, a bare one another variable; unset is empty), then
 * every `$VAR`/`${VAR}` is its value (empty when unset).
 */
export function expandLitefsEnv(text: string, env: NodeJS.ProcessEnv): string {
  const compared = text.replace(EXPRESSION, (_m, left: string, op: string, right: string) => {
    const a = env[left] ?? "";
    const b = right.startsWith('"') || right.startsWith("'") ? right.slice(1, -1) : (env[right] ?? "");
    return String(op === "==" ? a === b : a !== b);
  });
  return expandEnv(compared, env);
}
