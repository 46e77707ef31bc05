// The statistics the litestream suite reports: medians over runs, percentiles of lags and times.

/** The median of the finite numbers among `values`; undefined when there are none. */
export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Percentile by linear interpolation between closest ranks. */
export function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const x = (v.length - 1) * p;
  const lo = Math.floor(x);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (x - lo);
}

/** Count, p50, p99 and max of `values`. */
export function summarize(values) {
  return { n: values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: values.length ? Math.max(...values) : undefined };
}
