/** Putting a finished file in place durably: rename over the target, then fsync of the directory. */
import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { ioFault } from "./errors.js";

/** Renames `from` over `to` and fsyncs the directory, so the rename survives a crash. */
export async function replaceFile(from: string, to: string): Promise<void> {
  await rename(from, to).catch((err: unknown) => {
    throw ioFault(err, `cannot rename ${from} to ${to}`, from);
  });
  await syncDirectory(dirname(to));
}

/** fsync of a directory: what makes a rename or a new file in it durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch((err: unknown) => {
    throw ioFault(err, `cannot open directory ${dir}`, dir);
  });
  try {
    await handle.sync().catch((err: unknown) => {
      throw ioFault(err, `cannot fsync directory ${dir}`, dir);
    });
  } finally {
    await handle.close();
  }
}
