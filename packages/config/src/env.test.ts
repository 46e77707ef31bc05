/** Unit tests of expandEnv: Go os.Expand's exact treatment of `$NAME`, `${NAME}`, stray `$`, and the report of unset variables. */
import { describe, expect, it } from "vitest";
import { expandEnv } from "./env.js";

const env = { NAME: "db", BUCKET: "my-bucket", EMPTY: "", _U1: "under", "1": "one", $: "dollar" };

describe("expandEnv (Go os.Expand semantics)", () => {
  it.each([
    ["$NAME", "db"],
    ["${NAME}", "db"],
    ["s3://${BUCKET}/$NAME.db", "s3://my-bucket/db.db"],
    ["$NAME-x", "db-x"],
    ["$NAMEx", ""], // the name runs as far as name characters go
    ["${NAME}x", "dbx"],
    ["$_U1/$EMPTY/", "under//"],
    ["$UNSET and ${UNSET}", " and "],
    ["price: 5$", "price: 5$"], // a trailing $ stays
    ["a $ b", "a $ b"], // $ followed by a non-name character stays
    ["100%$%", "100%$%"],
    ["$1", "one"], // shell special parameters are one character
    ["$12", "one2"],
    ["$$", "dollar"], // $$ names the variable "$"
    ["${}", ""], // malformed: dropped
    ["x${NAME", "xNAME"], // unterminated ${: the "${" is dropped
    ["no dollars here", "no dollars here"],
    ["${A B}", ""],
  ])("%s → %s", (input, output) => {
    expect(expandEnv(input, env)).toBe(output);
  });

  it("leaves the text alone when there is nothing to expand", () => {
    const text = "dbs:\n  - path: /x\n";
    expect(expandEnv(text, {})).toBe(text);
  });

  it("reads process.env-like records with undefined values as unset", () => {
    expect(expandEnv("[$A]", { A: undefined })).toBe("[]");
  });
});

describe("expandEnv reports unset variables", () => {
  it("names each unset reference with where it was written and where it expanded", () => {
    const unset: { name: string; offset: number; expandedOffset: number }[] = [];
    const out = expandEnv("a=$SET b=${GONE} c=$ALSO_GONE", { SET: "xyz" }, (u) => unset.push(u));
    expect(out).toBe("a=xyz b= c=");
    expect(unset).toEqual([
      { name: "GONE", offset: 9, expandedOffset: 8 },
      { name: "ALSO_GONE", offset: 19, expandedOffset: 11 },
    ]);
  });

  it("does not report an empty but set variable", () => {
    const unset: unknown[] = [];
    expandEnv("$EMPTY", { EMPTY: "" }, (u) => unset.push(u));
    expect(unset).toEqual([]);
  });
});
