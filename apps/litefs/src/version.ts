/** The CLI's version, read from its package.json so it cannot drift from the release. */
import { readFileSync } from "node:fs";

/** This package's version, from its package.json (`0.1.0`). */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
