// Timing and rate helpers shared by the suites. Units: sizes in MiB (2^20 bytes),
// throughput in MB/s (10^6 bytes per second, as Go's benchmarks print it), cost in
// nanoseconds per byte.

export const KiB = 1 << 10;
export const MiB = 1 << 20;
export const GiB = 1 << 30;

/** MB/s (10^6 bytes per second) for `bytes` in `ms` milliseconds. */
export function mbps(bytes, ms) {
  return bytes / 1e3 / ms;
}

/** Nanoseconds per byte. */
export function nsPerByte(bytes, ms) {
  return (ms * 1e6) / bytes;
}

/** A size as "1 MiB", "256 MiB", "1 GiB". */
export function sizeLabel(bytes) {
  return bytes >= GiB && bytes % GiB === 0 ? `${bytes / GiB} GiB` : `${+(bytes / MiB).toFixed(2)} MiB`;
}

/** `process.memoryUsage.rss()` in MiB. */
export function rssMiB() {
  return process.memoryUsage.rss() / MiB;
}

/** Full garbage collection when the runner started us with --expose-gc (it does). */
export function collect() {
  globalThis.gc?.();
}

/** CPU time of this process so far (user + system, every thread), in ms. */
export function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Best time per call of `fn`, in ms of wall clock (`ms`) and of CPU (`cpuMs`, each the
 * best of its own). Calls are grouped in batches that last at least `batchMs` (so a
 * 1 MiB operation is timed over many calls, a 1 GiB one call by call), and the fastest
 * of `runs` batches wins. `fn` may return a promise.
 */
export async function bestTime(fn, { runs = 3, batchMs = 100, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  let reps = 1;
  let best = Infinity;
  let bestCpu = Infinity;
  const samples = [];
  const batch = async () => {
    const t = performance.now();
    const c = cpuMs();
    for (let k = 0; k < reps; k++) await fn();
    const per = (performance.now() - t) / reps;
    samples.push(per);
    best = Math.min(best, per);
    bestCpu = Math.min(bestCpu, (cpuMs() - c) / reps);
    return per;
  };
  // The first batch is one call; it tells how many calls fill a batch.
  const once = await batch();
  if (once < batchMs) {
    reps = Math.max(1, Math.ceil(batchMs / Math.max(once, 0.001)));
    if (reps > 1) {
      samples.length = 0;
      best = bestCpu = Infinity;
    }
  }
  while (samples.length < runs) await batch();
  return { ms: best, cpuMs: bestCpu, runs: samples.length, reps, samples };
}

/**
 * The throughput cells of a row: MB/s by the wall clock, MB/s per CPU-second of this
 * process (steadier when the machine is shared: time spent waiting for a core does
 * not count), ns per byte, and the ratio to the reference `refMbps` (wall clock, same
 * run) when given.
 */
export function rateCells(bytes, ms, cpu, refMbps) {
  const rate = mbps(bytes, ms);
  const cells = { "MB/s": rate, "MB/s cpu": cpu === undefined ? undefined : mbps(bytes, cpu), "ns/B": nsPerByte(bytes, ms) };
  if (refMbps !== undefined) cells["× copy"] = rate / refMbps;
  return cells;
}

/**
 * Throughput of a plain memory copy (`Uint8Array.prototype.set` between two
 * preallocated buffers) of `bytes`: the reference every figure is printed next to.
 * `src` and `dst` may be larger; the first `bytes` are copied.
 */
export async function copyRate(src, dst, bytes, options) {
  const from = src.subarray(0, bytes);
  const t = await bestTime(() => dst.set(from), options);
  return { ...t, mbps: mbps(bytes, t.ms) };
}

/**
 * Tracks the peak RSS while an operation runs; call `sample()` from its loop. Call
 * `collect()` first for a clean baseline, but not before every timed run: a run right
 * after a full GC pays for it (a 1 MiB LTX decode then takes ~1 ms longer).
 */
export class RssPeak {
  constructor() {
    this.before = rssMiB();
    this.peak = this.before;
  }

  sample() {
    const now = process.memoryUsage.rss() / MiB;
    if (now > this.peak) this.peak = now;
  }

  /** { peak, growth } in MiB: the highest RSS seen, and how far above the start it went. */
  result() {
    this.sample();
    return { peak: this.peak, growth: this.peak - this.before };
  }
}

/** A deterministic PRNG (xorshift32); `next()` is a uint32, `below(n)` an integer in [0, n). */
export class Rng {
  constructor(seed) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }

  next() {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }

  below(n) {
    return this.next() % n;
  }

  /** Fills `out` with random bytes. */
  fill(out) {
    for (let i = 0; i < out.length; i += 4) {
      const v = this.next();
      out[i] = v;
      if (i + 1 < out.length) out[i + 1] = v >>> 8;
      if (i + 2 < out.length) out[i + 2] = v >>> 16;
      if (i + 3 < out.length) out[i + 3] = v >>> 24;
    }
    return out;
  }
}
