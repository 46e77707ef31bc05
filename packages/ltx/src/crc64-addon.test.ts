/** Tests of CRC-64 in the package's addon: the addon's functions called directly, equal to the JS and WebAssembly kernels at every length, offset and register; argument checks; the SQLREP_CRC64 switch. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { addonCrcPages, addonCrcTable, addonCrcUpdate, crc64Addon, crcSwitch, type CrcPages, type CrcUpdate } from "./crc64-addon.js";
import { crc64, crcPageRegisters, crcRegister, crcRegisterJs, crcRegisterWasm } from "./crc64.js";
import { nativeAddon } from "./native-addon.js";
import { hasCompiler } from "./testing/compiler.js";
import { bitwiseCrc64 } from "./testing/crc-oracle.js";
import { Rng } from "./testing/random.js";

/** Whether this CPU has PCLMULQDQ (Linux says so in /proc/cpuinfo; elsewhere: unknown). */
const cpuHasPclmul = (() => {
  try {
    return process.arch === "x64" ? /\bpclmulqdq\b/.test(readFileSync("/proc/cpuinfo", "utf8")) : false;
  } catch {
    return undefined;
  }
})();

/** The register as a bigint, for readable failures. */
function reg(out: Int32Array): bigint {
  return (BigInt(out[1]! >>> 0) << 32n) | BigInt(out[0]! >>> 0);
}

/** `fn`'s register after `data` from (l, h). */
function run(fn: CrcUpdate, l: number, h: number, data: Uint8Array): bigint {
  const out = new Int32Array(2).fill(0x5a5a5a5a);
  fn(l, h, data, out);
  return reg(out);
}

// The tests call the addon's functions themselves (not crcRegister, which would fall back
// silently), so a broken or missing native path fails here, whatever SQLREP_CRC64 says.
const addon = nativeAddon().addon;
const update = addon?.crc64 as CrcUpdate;
const table = addon?.crc64Table as CrcUpdate;
const pages = addon?.crc64Pages as CrcPages;

describe.skipIf(!hasCompiler)(`CRC-64 in the addon${hasCompiler ? "" : " (skipped: no C compiler here, so the addon is not built)"}`, () => {
  it("is built and loaded where a C compiler is, with the carry-less multiply kernel where the CPU has PCLMULQDQ", () => {
    expect(nativeAddon().reason).toBeUndefined();
    expect([update, table, pages].every((f) => typeof f === "function")).toBe(true);
    if (cpuHasPclmul !== undefined) expect(addon!.crc64Kernel!()).toBe(cpuHasPclmul ? "pclmul" : "table");
    // crcRegister and crcPageRegisters use it unless SQLREP_CRC64 says otherwise.
    const status = crc64Addon();
    if (crcSwitch === undefined) {
      expect(status).toEqual({ loaded: true, kernel: addon!.crc64Kernel!(), reason: undefined });
      expect([addonCrcUpdate, addonCrcTable, addonCrcPages]).toEqual([update, table, pages]);
    } else {
      expect(status).toEqual({ loaded: false, kernel: undefined, reason: `SQLREP_CRC64=${crcSwitch}` });
      expect([addonCrcUpdate, addonCrcTable, addonCrcPages]).toEqual([undefined, undefined, undefined]);
    }
  });

  it("gives the published check values", () => {
    const check = new TextEncoder().encode("123456789");
    for (const fn of [update, table]) {
      expect(~run(fn, -1, -1, check) & 0xffffffffffffffffn).toBe(0xb90956c775a41001n);
      expect(~run(fn, -1, -1, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) & 0xffffffffffffffffn).toBe(0x5c98d47bea58893dn);
      expect(run(fn, -1, -1, new Uint8Array(0))).toBe(0xffffffffffffffffn);
    }
    // Through the public function, whose long inputs go to the addon.
    expect(crc64(check)).toBe(0xb90956c775a41001n);
  });

  it("equals the bitwise oracle on inputs long enough for every folding stage", () => {
    const rng = new Rng(5);
    for (const n of [16, 63, 64, 65, 127, 128, 129, 191, 192, 255, 256, 300, 1000, 4096]) {
      const data = rng.bytes(n);
      const expected = bitwiseCrc64(data);
      for (const fn of [update, table]) expect(~run(fn, -1, -1, data) & 0xffffffffffffffffn, `length ${n}`).toBe(expected);
      expect(crc64(data), `crc64 of length ${n}`).toBe(expected);
    }
  });

  it("equals the JS and WebAssembly kernels at every length 0…1100, every byte offset 0…15, from random registers", () => {
    const rng = new Rng(77);
    const buf = rng.bytes(1100 + 16);
    for (let offset = 0; offset < 16; offset++) {
      for (let n = 0; n <= 1100; n++) {
        const data = buf.subarray(offset, offset + n);
        const l = rng.next() | 0;
        const h = rng.next() | 0;
        const expected = run(crcRegisterJs, l, h, data);
        const got = run(update, l, h, data);
        const viaTable = run(table, l, h, data);
        const viaRegister = run(crcRegister, l, h, data);
        if (got !== expected || viaTable !== expected || viaRegister !== expected) {
          expect.fail(
            `offset ${offset} length ${n}: JS ${expected.toString(16)}, addon ${got.toString(16)}, table ${viaTable.toString(16)}, crcRegister ${viaRegister.toString(16)}`,
          );
        }
      }
    }
    const wasm = new Int32Array(2);
    if (crcRegisterWasm(1, 2, buf, wasm)) expect(reg(wasm)).toBe(run(update, 1, 2, buf));
  });

  it("equals the JS and WebAssembly kernels at random lengths up to 1 MiB", () => {
    const rng = new Rng(2024);
    const buf = rng.bytes((1 << 20) + 16);
    for (let t = 0; t < 24; t++) {
      const offset = rng.int(16);
      const n = t < 4 ? (1 << 20) - 3 + t : rng.int(1 << 20);
      const data = buf.subarray(offset, offset + n);
      const l = rng.next() | 0;
      const h = rng.next() | 0;
      const expected = run(crcRegisterJs, l, h, data);
      expect(run(update, l, h, data), `offset ${offset} length ${n}`).toBe(expected);
      expect(run(table, l, h, data), `table, offset ${offset} length ${n}`).toBe(expected);
      const wasm = new Int32Array(2);
      if (crcRegisterWasm(l, h, data, wasm)) expect(reg(wasm), `wasm, offset ${offset} length ${n}`).toBe(expected);
    }
  });

  it("hashes a run of pages in one call, each from a zero register, as crcRegister does page by page", () => {
    const rng = new Rng(9);
    for (const [pageSize, count] of [
      [4096, 100],
      [512, 37],
      [1024, 1],
      [65536, 5],
      [100, 9], // not a power of two, nor a multiple of 16
      [4096, 0],
    ] as const) {
      const offset = 1 + rng.int(15);
      const buf = rng.bytes(offset + count * pageSize + 7);
      const data = buf.subarray(offset);
      const out = new Int32Array(2 * count + 4).fill(0x77);
      pages(data, count, pageSize, out);
      const viaRuns = new Int32Array(2 * count);
      crcPageRegisters(data, count, pageSize, viaRuns);
      const one = new Int32Array(2);
      for (let i = 0; i < count; i++) {
        crcRegisterJs(0, 0, data.subarray(i * pageSize, (i + 1) * pageSize), one);
        if (out[2 * i] !== one[0] || out[2 * i + 1] !== one[1] || viaRuns[2 * i] !== one[0] || viaRuns[2 * i + 1] !== one[1]) {
          expect.fail(`page ${i} of ${count} × ${pageSize}`);
        }
      }
      expect(Array.from(out.subarray(2 * count)), "slots past the last page are left alone").toEqual([0x77, 0x77, 0x77, 0x77]);
    }
  });

  it("throws on bad arguments instead of reading or writing outside a buffer", () => {
    const data = new Uint8Array(4096 * 4);
    const out = new Int32Array(8);
    // crc64Pages
    expect(() => pages(data, 5, 4096, new Int32Array(10))).toThrow(/do not fit/); // 5 pages in 4
    expect(() => pages(data, 4, 4096, new Int32Array(7))).toThrow(/do not fit/); // 4 registers in 3.5
    expect(() => pages(data.subarray(1), 4, 4096, out)).toThrow(/do not fit/);
    expect(() => pages(data, 2 ** 53 - 1, 1, out)).toThrow(/do not fit/);
    for (const [count, size] of [
      [-1, 4096],
      [1.5, 4096],
      [Number.NaN, 4096],
      [Number.POSITIVE_INFINITY, 4096],
      [1, 0],
      [1, -4096],
      [1, 4096.5],
      [1, Number.NaN],
      [1, 2 ** 64],
    ]) {
      expect(() => pages(data, count!, size!, out), `count ${count}, pageSize ${size}`).toThrow(/count must be/);
    }
    expect(() => pages(new Int32Array(4) as unknown as Uint8Array, 1, 4, out)).toThrow(/data must be a Uint8Array/);
    expect(() => pages(data, 1, 4096, new Uint32Array(2) as unknown as Int32Array)).toThrow(/out must be an Int32Array/);
    expect(() => pages(data, "1" as unknown as number, 4096, out)).toThrow(/count must be/);
    expect(() => (pages as unknown as (...args: unknown[]) => void)(data, 1, 4096)).toThrow(/4 arguments/);
    // crc64 and crc64Table
    for (const fn of [update, table]) {
      expect(() => fn(0, 0, data, new Int32Array(1))).toThrow(/out must be an Int32Array of 2/);
      expect(() => fn(0, 0, [1, 2, 3] as unknown as Uint8Array, out)).toThrow(/data must be a Uint8Array/);
      expect(() => fn("0" as unknown as number, 0, data, out)).toThrow(/must be numbers/);
      expect(() => (fn as unknown as (...args: unknown[]) => void)(0, 0, data)).toThrow(/4 arguments/);
    }
    // The JS entry point checks the same bounds before any kernel runs.
    expect(() => crcPageRegisters(data, 5, 4096, new Int32Array(10))).toThrow(RangeError);
    expect(() => crcPageRegisters(data, 1, 0, out)).toThrow(RangeError);
  });
});

describe("SQLREP_CRC64", () => {
  it.each(["js", "wasm"])("=%s turns the addon off for CRC-64, says so, and leaves the checksums as they are", (value) => {
    const entry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `import(${JSON.stringify(entry)}).then((m) => {
      const data = new Uint8Array(5000).map((_, i) => (i * 31) & 0xff);
      console.log(JSON.stringify({ status: m.crc64Addon(), crc: m.crc64(data).toString(16) }));
    })`;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, SQLREP_CRC64: value }, encoding: "utf8" }));
    const data = new Uint8Array(5000).map((_, i) => (i * 31) & 0xff);
    expect(out).toEqual({ status: { loaded: false, kernel: undefined, reason: `SQLREP_CRC64=${value}` }, crc: bitwiseCrc64(data).toString(16) });
  });
});
