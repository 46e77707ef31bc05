import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

function capture(format: "text" | "json", level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const logger = createLogger({ format, ...(level ? { level } : {}), stream: { write: (t: string) => lines.push(t) }, now: () => new Date("2024-05-01T10:00:00.123Z") });
  return { logger, lines };
}

describe("logger", () => {
  it("writes slog-style text lines, quoting where needed", () => {
    const { logger, lines } = capture("text");
    logger.info("replica sync", { db: "/data/app.db", txid: "000000000000002a", size: 4096, note: "a b", empty: "", skipped: undefined, at: new Date(0), error: new Error("boom") });
    expect(lines).toEqual([
      'time=2024-05-01T10:00:00.123Z level=INFO msg="replica sync" db=/data/app.db txid=000000000000002a size=4096 note="a b" empty="" at=1970-01-01T00:00:00.000Z error=boom\n',
    ]);
  });

  it("writes one JSON object a line", () => {
    const { logger, lines } = capture("json");
    logger.warn("x", { n: 1, error: new Error("bad"), big: 2n });
    expect(JSON.parse(lines[0]!)).toEqual({ time: "2024-05-01T10:00:00.123Z", level: "WARN", msg: "x", n: 1, error: "bad", big: "2" });
  });

  it("drops records below the level", () => {
    const { logger, lines } = capture("text", "warn");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines.map((l) => /level=(\w+)/.exec(l)![1])).toEqual(["WARN", "ERROR"]);
    const info = capture("text");
    info.logger.debug("hidden");
    expect(info.lines).toEqual([]);
  });
});
