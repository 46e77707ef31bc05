// The lazily loaded commands of main.ts: what the command list shows equals the command's own.
import { describe, expect, it } from "vitest";
import { COMMANDS } from "./main.js";

describe("lazily loaded commands", () => {
  it("list the same name and summary as the command they load", async () => {
    const lazy = COMMANDS.filter((c) => "load" in c) as ((typeof COMMANDS)[number] & { load(): Promise<(typeof COMMANDS)[number]> })[];
    expect(lazy.map((c) => c.name)).toEqual(["replicate", "reset"]);
    for (const c of lazy) {
      const real = await c.load();
      expect([real.name, real.summary]).toEqual([c.name, c.summary]);
      expect(real.usage()).toMatch(new RegExp(`^The ${c.name} command`));
    }
  });
});
