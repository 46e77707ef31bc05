// One clock for every process of the suite: CLOCK_MONOTONIC (`process.hrtime`), which
// Linux shares between processes, in milliseconds with sub-millisecond precision.
// (`performance.now()` counts from each process's start, `Date.now()` can step.)

/** Milliseconds on the machine's monotonic clock. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}
