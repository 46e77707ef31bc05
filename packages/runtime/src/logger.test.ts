// The slog-style logger: Litestream's lines byte for byte, LiteFS's (no time by default), JSON, levels.
import { describe, expect, it } from "vitest";
import { createLogger, isLogLevel } from "./logger.js";

function capture(format: "text" | "json", level?: "debug" | "info" | "warn" | "error", timestamp?: boolean) {
  const lines: string[] = [];
  const logger = createLogger({
    format,
    ...(level ? { level } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    stream: { write: (t: string) => lines.push(t) },
    now: () => new Date("2024-05-01T10:00:00.123Z"),
  });
  return { logger, lines };
}

describe("logger", () => {
  it("writes slog-style text lines, quoting where needed", () => {
    const { logger, lines } = capture("text");
    logger.info("replica sync", {
      db: "/data/app.db",
      txid: "000000000000002a",
      size: 4096,
      note: "a b",
      empty: "",
      skipped: undefined,
      at: new Date(0),
      error: new Error("boom"),
    });
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

  it("writes LiteFS's lines: slog's text handler with the time left out (log.timestamp: false, LiteFS's default)", () => {
    const { logger, lines } = capture("text", "debug", false);
    logger.info("connected to cluster, ready");
    logger.debug("stream connected", { name: "db", txid: "0000000000000003", error: new Error("reset by peer") });
    expect(lines).toEqual(['level=INFO msg="connected to cluster, ready"\n', 'level=DEBUG msg="stream connected" name=db txid=0000000000000003 error="reset by peer"\n']);
  });

  it("writes LiteFS's JSON lines without the time, and with it when log.timestamp is set", () => {
    const off = capture("json", undefined, false);
    off.logger.error("cannot connect", { url: "http://127.0.0.1:20202" });
    expect(off.lines).toEqual(['{"level":"ERROR","msg":"cannot connect","url":"http://127.0.0.1:20202"}\n']);
    const on = capture("text", undefined, true);
    on.logger.info("ready");
    expect(on.lines).toEqual(["time=2024-05-01T10:00:00.123Z level=INFO msg=ready\n"]);
  });

  it("names its levels", () => {
    expect(["debug", "info", "warn", "error"].every(isLogLevel)).toBe(true);
    expect(isLogLevel("trace")).toBe(false);
    expect(isLogLevel("INFO")).toBe(false);
  });
});
