/**
 * The signal to hand one SDK request. Each request adds two abort listeners (retry
 * wrapper, HTTP handler), so many concurrent requests sharing the caller's signal trip
 * Node's MaxListenersExceededWarning; a derived signal per request keeps the caller's
 * signal clean (AbortSignal.any follows its sources without adding listeners to them).
 */
export function requestSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  return signal === undefined ? undefined : AbortSignal.any([signal]);
}
