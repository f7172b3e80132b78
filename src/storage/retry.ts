// Retries a backend's operations on transient failures: the one owner of file-level retries.
// A put is retried from scratch by reopening its source; what failure-kind.ts calls permanent (auth, missing bucket)
// or a source failure (the local file vanished) is not retried.
import { isRetryable } from './failure-kind.ts';
import type {
  Backend, CopyOptions, GetOptions, IncompleteUpload, ObjectInfo, PutOptions, PutSource, SignalOptions,
} from './backend.ts';
import type { Readable } from 'node:stream';

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Called before each retry, e.g. to log it. */
  readonly onRetry?: (what: string, attempt: number, err: unknown) => void;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

// With 10 attempts the waits add up to at least ~45 s: a store that is gone for half a minute does not fail a run.
export const defaultRetryPolicy: RetryPolicy = { attempts: 10, baseDelayMs: 500, maxDelayMs: 20_000 };

function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clearTimeout(timer); reject(signal?.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Exponential backoff with "equal jitter": at least half of each step is waited, so the total wait has a floor
 * (a short outage is outlasted), and the random half spreads the retries of many clients.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (policy.random ?? Math.random)() * (ceiling / 2));
}

export async function withRetry<T>(
  what: string, policy: RetryPolicy, signal: AbortSignal | undefined, op: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= policy.attempts || !isRetryable(err) || signal?.aborted) throw err;
      policy.onRetry?.(what, attempt, err);
      await (policy.sleep ?? sleepFor)(backoffDelay(policy, attempt), signal);
    }
  }
}

// A put is passed its options as they are, createOnly included: the already-exists refusal is permanent, so it
// ends the put at once instead of being retried.
export function withRetries(inner: Backend, policy: RetryPolicy = defaultRetryPolicy): Backend {
  return {
    description: inner.description,
    ...(inner.storedAs === undefined ? {} : { storedAs: inner.storedAs }),
    put: (key: string, source: PutSource, options?: PutOptions): Promise<ObjectInfo> =>
      withRetry(`put ${key}`, policy, options?.signal, () => inner.put(key, source, options)),
    stat: (key: string, options?: SignalOptions) =>
      withRetry(`stat ${key}`, policy, options?.signal, () => inner.stat(key, options)),
    list: (prefix: string, options?: SignalOptions) => inner.list(prefix, options),
    listDirs: (prefix: string, options?: SignalOptions) =>
      withRetry(`list ${prefix}`, policy, options?.signal, () => inner.listDirs(prefix, options)),
    get: (key: string, options?: GetOptions): Promise<Readable> =>
      withRetry(`get ${key}`, policy, options?.signal, () => inner.get(key, options)),
    // Not retried: bytes may already have reached the sink; the caller retries the range (restore/download.ts).
    ...(inner.getRangeInto === undefined ? {} : { getRangeInto: inner.getRangeInto.bind(inner) }),
    copy: (from: string, to: string, options?: CopyOptions) =>
      withRetry(`copy ${from}`, policy, options?.signal, () => inner.copy(from, to, options)),
    delete: (keys: readonly string[], options?: SignalOptions) =>
      withRetry(`delete ${keys.length} objects`, policy, options?.signal, () => inner.delete(keys, options)),
    ...incompleteUploadsWithRetries(inner, policy),
    close: () => inner.close(),
  };
}

/** The incomplete-upload members, where the backend has them: the listing as `list`, each abort retried. */
function incompleteUploadsWithRetries(inner: Backend, policy: RetryPolicy): Pick<Backend, 'listIncompleteUploads' | 'abortIncompleteUpload'> {
  const { listIncompleteUploads, abortIncompleteUpload } = inner;
  return {
    ...(listIncompleteUploads === undefined ? {} : {
      listIncompleteUploads: (prefix: string, options?: SignalOptions) => listIncompleteUploads.call(inner, prefix, options),
    }),
    ...(abortIncompleteUpload === undefined ? {} : {
      abortIncompleteUpload: (upload: IncompleteUpload, options?: SignalOptions) =>
        withRetry(`abort upload of ${upload.key}`, policy, options?.signal, () => abortIncompleteUpload.call(inner, upload, options)),
    }),
  };
}
