// Retry policy of the S3 store: attempts, jittered exponential back-off (longer when throttled), abortable sleeps.
import { ReplicaError } from "@sqlrep/replica";

/** How transient faults are retried: SDK requests, and resumed reads. */
export interface RetryOptions {
  /**
   * Attempts per request, the first included (default 5). A read that breaks mid-body
   * is resumed up to this many times in a row without progress.
   */
  maxAttempts?: number | undefined;
  /** Backoff base for transient faults (5xx, resets, timeouts); default 100 ms. */
  baseDelayMs?: number | undefined;
  /** Backoff base after throttling (`SlowDown`, 429); default 500 ms. */
  throttleDelayMs?: number | undefined;
  /** Upper bound of one wait; default 5 s. */
  maxDelayMs?: number | undefined;
}

/** Retry options with every value filled in. */
export type ResolvedRetry = Required<{ [K in keyof RetryOptions]: number }>;

/** The defaults: 5 attempts, 100 ms (500 ms after throttling) backoff base, 5 s cap. */
export const DEFAULT_RETRY: Readonly<ResolvedRetry> = { maxAttempts: 5, baseDelayMs: 100, throttleDelayMs: 500, maxDelayMs: 5_000 };

/** Fills in the defaults; an unusable value is a ReplicaError("invalid-config") naming it. */
export function resolveRetry(options: RetryOptions = {}): ResolvedRetry {
  const out = { ...DEFAULT_RETRY };
  for (const name of Object.keys(out) as (keyof ResolvedRetry)[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (name === "maxAttempts" && (!Number.isInteger(value) || value < 1))) {
      throw new ReplicaError("invalid-config", `retry option ${name}=${value} is not valid`);
    }
    out[name] = value;
  }
  return out;
}

/** "Full jitter" exponential backoff: uniform in [0, min(cap, base·2^retry)). */
export function backoffDelay(retry: number, base: number, cap: number): number {
  return Math.random() * Math.min(cap, base * 2 ** retry);
}

/** Waits `ms`, or rejects with ReplicaError("aborted") as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => new ReplicaError("aborted", "operation aborted", { cause: signal?.reason });
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The slice of the SDK's retry token and error info this strategy uses. */
interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}
interface RetryErrorInfo {
  errorType: string;
  retryAfterHint?: Date | undefined;
}

/**
 * The SDK retry strategy (its `RetryStrategyV2` shape) for our clients: transient and
 * throttling errors are retried with full-jitter backoff, up to `maxAttempts`. Unlike the
 * SDK's standard strategy it keeps no shared retry quota, so a long-running daemon behind
 * a flaky network keeps retrying each request instead of failing everything once the
 * quota drains; the attempt cap bounds how long a dead endpoint takes to fail.
 */
export class BackoffRetryStrategy {
  private readonly retry: ResolvedRetry;

  constructor(options: RetryOptions = {}) {
    this.retry = resolveRetry(options);
  }

  acquireInitialRetryToken(): Promise<RetryToken> {
    return Promise.resolve(token(0, 0));
  }

  refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retry = previous.getRetryCount();
    const retryable = info.errorType === "TRANSIENT" || info.errorType === "THROTTLING";
    // Rejecting ends the retries; the SDK then throws the request's own error.
    if (!retryable || retry + 1 >= this.retry.maxAttempts) return Promise.reject(new Error("no more retries"));
    const base = info.errorType === "THROTTLING" ? this.retry.throttleDelayMs : this.retry.baseDelayMs;
    let delay = backoffDelay(retry, base, this.retry.maxDelayMs);
    if (info.retryAfterHint) delay = Math.max(delay, Math.min(this.retry.maxDelayMs, info.retryAfterHint.getTime() - Date.now()));
    return Promise.resolve(token(retry + 1, delay));
  }

  recordSuccess(): void {}
}

function token(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}
