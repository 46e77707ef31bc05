// The command framework and program runner: usage and help texts, and how each kind of error
// becomes output and an exit code.
import { describe, expect, it } from "vitest";
import { defineCommand, lazyCommand, type Command, type CommandIo } from "./command.js";
import { FlagValueError } from "./errors.js";
import { defineFlags } from "./flags.js";
import { programUsage, runProgram, type ProgramSpec } from "./program.js";

const greet = defineCommand("demo", {
  name: "greet",
  summary: "prints a greeting",
  description: "The greet command prints a greeting.",
  synopsis: ["[arguments] NAME"],
  flags: defineFlags({ times: { type: "integer", default: 1, min: 1, placeholder: "N", usage: "How many times." } }),
  examples: ["# Twice.", "$ demo greet -times 2 you"],
  async run({ flags, positionals }, io: CommandIo) {
    if (positionals[0] === "nobody") throw new FlagValueError('invalid name "nobody"');
    if (positionals[0] === "crash") throw new TypeError("x is undefined");
    io.stdout.write(`hello ${positionals[0]}\n`.repeat(flags.times));
    return 0;
  },
});
const program: ProgramSpec<CommandIo> = { name: "demo", description: "demo is a tool for tests.", commands: [greet], showStack: (_err, io) => io.env["DEMO_DEBUG"] === "1" };

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: "", stderr: "" };
  const code = await runProgram(program, args, { stdout: { write: (t: string) => (out.stdout += t) }, stderr: { write: (t: string) => (out.stderr += t) }, env });
  return { code, ...out };
}

describe("runProgram", () => {
  it("lays out the usage and a command's help as Litestream does", () => {
    expect(programUsage(program)).toBe(
      'demo is a tool for tests.\n\nUsage:\n\n\tdemo <command> [arguments]\n\nThe commands are:\n\n\tgreet    prints a greeting\n\nRun "demo <command> -h" for a command\'s arguments.\n',
    );
    expect(greet.usage()).toBe(
      "The greet command prints a greeting.\n\nUsage:\n\n\tdemo greet [arguments] NAME\n\nArguments:\n\n\t-times N\n\t    How many times.\n\nExamples:\n\n\t# Twice.\n\t$ demo greet -times 2 you\n",
    );
  });

  it("runs a command with its flags", async () => {
    expect(await run(["greet", "-times", "2", "you"])).toEqual({ code: 0, stdout: "hello you\nhello you\n", stderr: "" });
  });

  it("no command: the usage on stderr, 1; help and -h: on stdout, 0", async () => {
    expect(await run([])).toEqual({ code: 1, stdout: "", stderr: programUsage(program) });
    for (const args of [["help"], ["-h"], ["-help"], ["--help"]]) expect(await run(args)).toEqual({ code: 0, stdout: programUsage(program), stderr: "" });
    expect(await run(["help", "greet"])).toEqual({ code: 0, stdout: greet.usage(), stderr: "" });
    expect(await run(["greet", "-h"])).toEqual({ code: 0, stdout: greet.usage(), stderr: "" });
  });

  it("maps errors: unknown command, usage mistakes, bad flag values, failures", async () => {
    expect(await run(["gret"])).toEqual({ code: 1, stdout: "", stderr: `error: unknown command "gret"\n\n${programUsage(program)}` });
    expect(await run(["greet", "-loud"])).toEqual({ code: 1, stdout: "", stderr: `error: flag provided but not defined: -loud\n\n${greet.usage()}` });
    expect(await run(["greet", "-times", "0", "x"])).toEqual({
      code: 1,
      stdout: "",
      stderr: 'error: invalid value "0" for flag -times: must be at least 1\n(run "demo greet -h" for its flags)\n',
    });
    expect(await run(["greet", "nobody"])).toEqual({ code: 1, stdout: "", stderr: 'error: invalid name "nobody"\n(run "demo greet -h" for its flags)\n' });
    expect(await run(["greet", "crash"])).toEqual({ code: 1, stdout: "", stderr: "error: x is undefined\n" });
    const debug = await run(["greet", "crash"], { DEMO_DEBUG: "1" });
    expect(debug.stderr).toMatch(/^error: x is undefined\nTypeError: x is undefined\n {4}at /);
  });

  it("loads a lazy command's module only when it runs or its help is asked for", async () => {
    let loads = 0;
    const lazy = lazyCommand<CommandIo>("greet", "prints a greeting", async () => (loads++, greet as Command<CommandIo>));
    const lazyProgram: ProgramSpec<CommandIo> = { ...program, commands: [lazy] };
    const io = (out: string[]) => ({ stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) }, env: {} });
    const listed: string[] = [];
    expect(await runProgram(lazyProgram, [], io(listed))).toBe(1);
    expect(listed.join("")).toContain("\tgreet    prints a greeting\n");
    expect(loads).toBe(0);
    const help: string[] = [];
    expect(await runProgram(lazyProgram, ["help", "greet"], io(help))).toBe(0);
    expect(help.join("")).toBe(greet.usage());
    const ran: string[] = [];
    expect(await runProgram(lazyProgram, ["greet", "-times", "0", "x"], io(ran))).toBe(1);
    expect(ran.join("")).toContain('(run "demo greet -h" for its flags)');
    expect(loads).toBe(1); // loaded once, kept
  });
});
