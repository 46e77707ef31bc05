/** Where the readers get bytes from (a buffer or a caller's `readAt`), and the drivers that run one parsing generator both sync and async. */
import { WalError } from "./errors.js";

/**
 * Random access to the bytes of one file, supplied by the caller so that this package
 * never does I/O itself. `size` is read once at the start of every operation, so a
 * getter over a growing file is fine.
 */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `offset`; fewer only where the file ends. */
  readAt(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
}

/** A {@link ByteSource} whose reads complete synchronously. */
export interface SyncByteSource extends ByteSource {
  readAt(offset: number, length: number): Uint8Array;
}

/** What every reading function accepts: a whole image in memory or a source. */
export type Input = Uint8Array | ByteSource;
/** What every synchronous reading function accepts. */
export type SyncInput = Uint8Array | SyncByteSource;

/** Options shared by every function that reads a source. */
export interface ReadOptions {
  /** Named in errors. */
  file?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** A source over bytes already in memory; reads return views, not copies. */
export function bytesSource(bytes: Uint8Array): SyncByteSource {
  return { size: bytes.length, readAt: (offset, length) => bytes.subarray(offset, offset + length) };
}

// Format logic is written once as a generator that yields the reads it needs and the
// values it produces; a sync and an async driver answer the reads. This keeps the
// parsing code free of I/O and identical for both flavours.

interface ReadStep {
  readonly read: true;
  readonly offset: number;
  readonly length: number;
}
interface EmitStep<T> {
  readonly read: false;
  readonly value: T;
}
/** One step of a program: a read request or an output value. */
export type Step<T> = ReadStep | EmitStep<T>;
/** Parsing logic that yields reads and outputs and returns a summary. */
export type Program<T, R> = Generator<Step<T>, R, Uint8Array | undefined>;
/** Builds a program for a file of the given size. */
export type ProgramFactory<T, R> = (size: number) => Program<T, R>;

/** Reads `length` bytes at `offset` (short only at end of file). */
export function* read(offset: number, length: number): Generator<Step<never>, Uint8Array, Uint8Array | undefined> {
  const bytes = yield { read: true, offset, length };
  return bytes ?? new Uint8Array(0);
}

/** Produces one output value. */
export function* emit<T>(value: T): Generator<Step<T>, void, Uint8Array | undefined> {
  yield { read: false, value };
}

/** Runs a program against a synchronous source, yielding its outputs. */
export function* driveSync<T, R>(input: SyncInput, make: ProgramFactory<T, R>, options: ReadOptions = {}): Generator<T, R, undefined> {
  const source = toSource(input);
  const program = make(sourceSize(source, options));
  let answer: Uint8Array | undefined;
  for (;;) {
    checkAborted(options);
    const step = program.next(answer);
    if (step.done === true) return step.value;
    const s = step.value;
    if (s.read) {
      answer = checkRead(() => source.readAt(s.offset, s.length), s, options);
    } else {
      answer = undefined;
      yield s.value;
    }
  }
}

/** Runs a program against a source whose reads may be asynchronous. */
export async function* driveAsync<T, R>(input: Input, make: ProgramFactory<T, R>, options: ReadOptions = {}): AsyncGenerator<T, R, undefined> {
  const source = toSource(input);
  const program = make(sourceSize(source, options));
  let answer: Uint8Array | undefined;
  for (;;) {
    checkAborted(options);
    const step = program.next(answer);
    if (step.done === true) return step.value;
    const s = step.value;
    if (s.read) {
      let bytes: unknown;
      try {
        bytes = await source.readAt(s.offset, s.length);
      } catch (err) {
        throw ioError(s, options, err);
      }
      answer = checkRead(() => bytes, s, options);
    } else {
      answer = undefined;
      yield s.value;
    }
  }
}

/** Runs a program that produces no outputs against a synchronous source. */
export function runSync<R>(input: SyncInput, make: ProgramFactory<never, R>, options: ReadOptions = {}): R {
  const step = driveSync(input, make, options).next();
  return (step as IteratorReturnResult<R>).value;
}

/** Runs a program that produces no outputs. */
export async function runAsync<R>(input: Input, make: ProgramFactory<never, R>, options: ReadOptions = {}): Promise<R> {
  const step = await driveAsync(input, make, options).next();
  return (step as IteratorReturnResult<R>).value;
}

function toSource<S extends ByteSource>(input: Uint8Array | S): S | SyncByteSource {
  return input instanceof Uint8Array ? bytesSource(input) : input;
}

function sourceSize(source: ByteSource, options: ReadOptions): number {
  const size = source.size;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new WalError("invalid-argument", `source size must be a non-negative safe integer, got ${String(size)}`, { file: options.file });
  }
  return size;
}

function checkAborted({ signal, file }: ReadOptions): void {
  if (signal?.aborted === true) throw new WalError("aborted", "operation aborted", { file, cause: signal.reason });
}

function checkRead(readAt: () => unknown, step: ReadStep, options: ReadOptions): Uint8Array {
  let bytes: unknown;
  try {
    bytes = readAt();
  } catch (err) {
    throw ioError(step, options, err);
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new WalError("io", `readAt(${step.offset}, ${step.length}) returned ${typeof bytes}, not a Uint8Array`, {
      file: options.file,
      offset: step.offset,
    });
  }
  return bytes.length > step.length ? bytes.subarray(0, step.length) : bytes;
}

function ioError(step: ReadStep, { file }: ReadOptions, cause: unknown): WalError {
  return new WalError("io", `readAt(${step.offset}, ${step.length}) failed`, { file, offset: step.offset, cause });
}
