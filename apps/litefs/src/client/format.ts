// Small text formats the client commands share: durations as Go prints them, aligned tables.

/** A duration as Go prints short ones (`12.3ms`, `1.50s`). */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

/** Rows as columns padded to their widest cell, two spaces apart (what `tabwriter` gives LiteFS's Go tools). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n") + (rows.length > 0 ? "\n" : "");
}
