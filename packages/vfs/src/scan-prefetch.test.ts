// The B-tree scan read-ahead: interior pages parsed, siblings asked for once a scan is
// under way, never for a point lookup.
import { describe, expect, it } from "vitest";
import { interiorChildren, ScanPrefetcher } from "./scan-prefetch.js";

/** A table interior page (type 0x05) listing `children` (the last is the right-most). */
function interior(children: number[], pageSize = 4096, headerAt = 0): Uint8Array {
  const page = new Uint8Array(pageSize);
  const view = new DataView(page.buffer);
  page[headerAt] = 0x05;
  const cells = children.length - 1;
  view.setUint16(headerAt + 3, cells);
  view.setUint32(headerAt + 8, children[cells]!);
  let content = pageSize;
  for (let i = 0; i < cells; i++) {
    content -= 8;
    view.setUint32(content, children[i]!);
    view.setUint32(content + 4, i); // rowid varint stand-in
    view.setUint16(headerAt + 12 + 2 * i, content);
  }
  return page;
}

const leaf = (() => {
  const p = new Uint8Array(4096);
  p[0] = 0x0d;
  return p;
})();

function recorder() {
  const asked: number[][] = [];
  return { asked, reader: { prefetch: (p: readonly number[]) => asked.push([...p]), page: async () => interior([900, 901, 902]) } };
}

describe("interiorChildren", () => {
  it("lists the children in key order, right-most last; page 1 has its header after 100 bytes", () => {
    expect(interiorChildren(interior([10, 11, 12]), 5)).toEqual([10, 11, 12]);
    expect(interiorChildren(interior([7, 3], 4096, 100), 1)).toEqual([7, 3]);
    expect(interiorChildren(leaf, 5)).toBeUndefined();
  });
});

describe("ScanPrefetcher", () => {
  it("a point lookup (root, one child) asks for nothing", () => {
    const { asked, reader } = recorder();
    const s = new ScanPrefetcher();
    const kids = Array.from({ length: 100 }, (_, i) => 200 + i);
    s.observe(2, interior(kids), reader);
    s.observe(250, leaf, reader);
    expect(asked).toEqual([]);
  });

  it("two siblings in a row start the read-ahead of the rest, each page asked for once", () => {
    const { asked, reader } = recorder();
    const s = new ScanPrefetcher();
    const kids = Array.from({ length: 100 }, (_, i) => 200 + i);
    s.observe(2, interior(kids), reader);
    s.observe(200, leaf, reader);
    s.observe(201, leaf, reader);
    expect(asked[0]).toEqual(kids.slice(2, 18));
    for (let i = 2; i < 60; i++) s.observe(200 + i, leaf, reader);
    const all = asked.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort((a, b) => a - b)).toEqual(kids.slice(2));
  });
});
