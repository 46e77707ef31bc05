/** Byte sizes as written in Go configs (`5MB`, `64MiB`) to a number of bytes, as go-humanize reads them. */
import { ConfigError } from "./errors.js";

/** Bytes per unit, lower-cased: SI (`kb` = 1000) and IEC (`kib` = 1024), as go-humanize reads them. */
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a byte size: `4096`, `64MiB`, `5 MB`, `1.5GiB` (SI and IEC units,
 * case-insensitive). Throws `ConfigError("invalid-value")` on anything else or a
 * fractional byte count.
 */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const scale = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || scale === undefined) {
    throw new ConfigError("invalid-value", `invalid size ${JSON.stringify(text)}: expected a number of bytes with an optional unit (KB, MB, GB, KiB, MiB, GiB)`);
  }
  const bytes = Number(match[1]) * scale;
  if (!Number.isSafeInteger(bytes)) {
    throw new ConfigError("invalid-value", `invalid size ${JSON.stringify(text)}: not a whole number of bytes below 2^53`);
  }
  return bytes;
}
