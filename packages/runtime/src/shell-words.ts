// Splits an `exec` command line into argv words the way a POSIX shell would, without running a shell.
import { UsageError } from "./errors.js";

/**
 * Splits a command line into words with POSIX shell quoting: blanks separate words;
 * `'…'` is literal; `"…"` keeps blanks and lets `\` escape `"`, `\`, `$` and `` ` ``;
 * `\` outside quotes escapes the next character. Nothing is expanded (a config file's
 * `$VAR`s were expanded when it was read). Shell operators (`|`, `;`, `&`, `<`, `>`) are
 * refused rather than silently cut off: wrap such a command in `sh -c '…'`.
 */
export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "\\") {
      if (i + 1 >= line.length) throw new UsageError(`exec command ends with a lone backslash: ${line}`);
      const next = line[++i]!;
      if (next !== "\n") word += next;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UsageError(`unterminated single quote in exec command: ${line}`);
      word += line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && '"\\$`\n'.includes(line[j + 1] ?? "")) j++;
        word += line[j];
      }
      if (j >= line.length) throw new UsageError(`unterminated double quote in exec command: ${line}`);
      i = j;
    } else if ("|;&<>".includes(c)) {
      throw new UsageError(`exec command contains the shell operator ${JSON.stringify(c)}; run it through a shell: -exec "sh -c '…'"`);
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return words;
}
