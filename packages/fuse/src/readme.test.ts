// Runs the README's usage example against the built package on a real mount, as a user would.
import { fuseUnavailableReason, readmeExample, runReadmeExample } from "@sqlrep/testkit";
import { describe, expect, it } from "vitest";
import { hasSqlite3Shell } from "./testing/harness.js";

const example = readmeExample(import.meta.url);
const skip = example.unbuilt ?? fuseUnavailableReason() ?? (hasSqlite3Shell ? undefined : "the sqlite3 shell is not installed");

describe.skipIf(skip)(`README usage example${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("runs as written against the built package and prints what the README says", async () => {
    expect(example.printed).toBeDefined();
    expect(await runReadmeExample(example, { timeoutMs: 30_000 })).toBe(example.printed);
  }, 40_000);
});
