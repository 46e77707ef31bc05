// splitShellWords: quoting, escapes, and the shell operators it refuses.
import { describe, expect, it } from "vitest";
import { splitShellWords } from "./shell-words.js";

describe("splitShellWords", () => {
  it.each([
    ["node server.js", ["node", "server.js"]],
    ["  node   server.js  ", ["node", "server.js"]],
    ["sh -c 'echo hi; exit 3'", ["sh", "-c", "echo hi; exit 3"]],
    ['echo "a b" c', ["echo", "a b", "c"]],
    ['echo "say \\"hi\\"" \\$HOME', ["echo", 'say "hi"', "$HOME"]],
    ['echo "a\\nb"', ["echo", "a\\nb"]],
    ["a\\ b c", ["a b", "c"]],
    ["x''y \"\"", ["xy", ""]],
    ["", []],
  ])("%j", (line, words) => {
    expect(splitShellWords(line)).toEqual(words);
  });

  it.each([
    ["echo 'open", /unterminated single quote/],
    ['echo "open', /unterminated double quote/],
    ["echo \\", /lone backslash/],
    ["a | b", /shell operator "\|"/],
    ["a; b", /shell operator ";"/],
    ["a > out", /shell operator ">"/],
  ])("%j is refused", (line, message) => {
    expect(() => splitShellWords(line)).toThrow(message);
  });
});
