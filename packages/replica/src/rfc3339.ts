/**
 * RFC 3339 text as Go writes and reads it (`time.RFC3339Nano`): the form of the LTX
 * timestamp Litestream keeps in object metadata (S3, GCS, Azure) and properties.
 */

/** Formats a time as Go's `time.RFC3339Nano` in UTC. */
export function formatRFC3339Nano(date: Date): string {
  const iso = date.toISOString(); // throws RangeError on an invalid date
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? "" : `.${String(ms).padStart(3, "0").replace(/0+$/, "")}`;
  return `${iso.slice(0, 19)}${fraction}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses RFC 3339 text with up to nanosecond precision (what Go's `time.Parse(RFC3339Nano)`
 * accepts) into a Date; digits below the millisecond are truncated. Undefined when the
 * text is not a valid RFC 3339 time.
 */
export function parseRFC3339(text: string): Date | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, "0").slice(0, 3));
  let offset = 0;
  if (m[8] !== undefined) {
    const hours = Number(m[9]);
    const minutes = Number(m[10]);
    if (hours > 23 || minutes > 59) return undefined;
    offset = (m[8] === "-" ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // Date.UTC maps years 0…99 to 1900…1999
  utc.setUTCHours(hour, minute, second, ms);
  return new Date(utc.getTime() - offset);
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
