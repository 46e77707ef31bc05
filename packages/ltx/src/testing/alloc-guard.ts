/**
 * Watches typed-array allocations for the fuzz suite: while installed, `new
 * Uint8Array(n)` (and the other byte-array constructors code under test uses)
 * records the largest `n` and throws once it passes a limit, so a size taken from
 * untrusted input shows up as a failure instead of a slow machine. Scoped to the
 * worker running the fuzz file; `instanceof` keeps working for arrays made before.
 */
export interface AllocGuard {
  /** Largest length requested since install (or the last reset). */
  readonly largest: number;
  reset(): void;
  uninstall(): void;
}

/** Thrown by a guarded constructor over the limit (not an LtxError: the fuzz counts it as a bug). */
export class AllocationTooLarge extends Error {
  override readonly name = "AllocationTooLarge";
}

export function installAllocGuard(limit: number): AllocGuard {
  const Original = globalThis.Uint8Array;
  let largest = 0;
  const check = (n: unknown) => {
    if (typeof n !== "number") return; // a view over an existing buffer, or a copy of an array
    const size = n;
    if (size > largest) largest = size;
    if (size > limit) throw new AllocationTooLarge(`allocation of ${size} bytes exceeds the ${limit}-byte fuzz limit`);
  };
  class Guarded extends Original {
    constructor(...args: unknown[]) {
      check(args[0]);
      super(...(args as [number]));
    }
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof Original;
    }
  }
  globalThis.Uint8Array = Guarded as unknown as Uint8ArrayConstructor;
  return {
    get largest() {
      return largest;
    },
    reset() {
      largest = 0;
    },
    uninstall() {
      globalThis.Uint8Array = Original;
    },
  };
}
