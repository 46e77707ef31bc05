// Go-style flag parsing: syntax, defaults, choices, errors and the usage block.
import { describe, expect, it } from "vitest";
import { HelpRequested, UsageError } from "./errors.js";
import { defineFlags, describeFlags, parseFlags } from "./flags.js";

const specs = defineFlags({
  config: { type: "string", placeholder: "PATH", usage: "config" },
  "no-expand-env": { type: "boolean", usage: "no env" },
  parallelism: { type: "integer", default: 8, min: 1, usage: "p" },
  check: { type: "choice", values: ["none", "quick", "full"], bare: "full", usage: "c" },
});

describe("Go-style flag parsing", () => {
  it("reads -flag value, -flag=value, --flag and booleans", () => {
    const a = parseFlags(["-config", "a.yml", "--parallelism=4", "--no-expand-env", "db"], specs);
    expect(a.flags).toEqual({ config: "a.yml", "no-expand-env": true, parallelism: 4, check: undefined });
    expect([...a.given].sort()).toEqual(["config", "no-expand-env", "parallelism"]);
    expect(a.positionals).toEqual(["db"]);
  });

  it("applies defaults", () => {
    expect(parseFlags([], specs).flags).toEqual({ config: undefined, "no-expand-env": false, parallelism: 8, check: undefined });
  });

  it("a boolean takes =false but never the next word", () => {
    expect(parseFlags(["-no-expand-env=false", "x"], specs)).toMatchObject({ flags: { "no-expand-env": false }, positionals: ["x"] });
    expect(parseFlags(["-no-expand-env", "false"], specs)).toMatchObject({ flags: { "no-expand-env": true }, positionals: ["false"] });
    expect(() => parseFlags(["-no-expand-env=maybe"], specs)).toThrow('invalid boolean value "maybe" for -no-expand-env: parse error');
  });

  it("a choice flag stands alone or takes one of its values", () => {
    expect(parseFlags(["-check", "db"], specs)).toMatchObject({ flags: { check: "full" }, positionals: ["db"] });
    expect(parseFlags(["-check", "quick", "db"], specs)).toMatchObject({ flags: { check: "quick" }, positionals: ["db"] });
    expect(parseFlags(["-check=none", "db"], specs)).toMatchObject({ flags: { check: "none" }, positionals: ["db"] });
    expect(() => parseFlags(["-check=some"], specs)).toThrow('invalid value "some" for flag -check: expected one of none, quick, full');
  });

  it("a value flag may take a value that starts with a dash", () => {
    expect(parseFlags(["-config", "-odd-name.yml"], specs).flags.config).toBe("-odd-name.yml");
  });

  it("stops at --, and after it anything is an argument", () => {
    expect(parseFlags(["--", "-config", "x"], specs).positionals).toEqual(["-config", "x"]);
    expect(parseFlags(["-", "x"], specs).positionals).toEqual(["-", "x"]);
  });

  it.each([
    [["-bogus"], "flag provided but not defined: -bogus"],
    [["--bogus=1"], "flag provided but not defined: -bogus"],
    [["-config"], "flag needs an argument: -config"],
    [["-parallelism", "many"], 'invalid value "many" for flag -parallelism: parse error'],
    [["-parallelism", "0"], 'invalid value "0" for flag -parallelism: must be at least 1'],
    [["---config", "x"], "bad flag syntax: ---config"],
    [["-=x"], "bad flag syntax: -=x"],
    [["-config", "a", "-config", "b"], "flag -config given twice"],
    [["db", "-config", "a.yml"], "flag -config must come before the arguments (db …): Go-style flags stop at the first argument"],
  ])("%j is a usage error", (args, message) => {
    expect(() => parseFlags(args, specs)).toThrow(UsageError);
    expect(() => parseFlags(args, specs)).toThrow(message);
  });

  it.each([["-h"], ["-help"], ["--help"], ["-config", "x", "-h"]])("%j asks for help", (...args) => {
    expect(() => parseFlags(args, specs)).toThrow(HelpRequested);
  });

  it("describes flags in Litestream's layout", () => {
    expect(describeFlags(specs)).toBe("\t-config PATH\n\t    config\n\n\t-no-expand-env\n\t    no env\n\n\t-parallelism VALUE\n\t    p\n\n\t-check[=none|quick|full]\n\t    c\n");
  });
});
