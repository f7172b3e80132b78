// What a failed storage operation means for its caller: the one rule that the retry decorator, the multipart part
// retries and the upload engine all follow, whatever adapter the error came from.
import { SourceReadError, StorageError } from '../errors.ts';

/**
 * - transient: worth another attempt (network, throttling, a server error).
 * - permanent: the store or its configuration refuses (credentials, bucket, region): no attempt will differ, and
 *   every other file would fail the same way, so the run stops.
 * - source: the local file cannot be read (it vanished, or may not be read): not retried, a failure of this file
 *   only (an incremental skips a vanished file, a snapshot reports it).
 * - aborted: the caller stopped the operation.
 */
export type FailureKind = 'transient' | 'permanent' | 'source' | 'aborted';

/** Errno codes of a local file that no second read will change. */
const SOURCE_GONE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ELOOP']);

export function failureKind(err: unknown): FailureKind {
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  const source = sourceReadErrorIn(err);
  // A file that is gone stays gone; any other read error (EIO) may be the disk's moment.
  if (source !== undefined) return SOURCE_GONE.has(source.code) ? 'source' : 'transient';
  if (err instanceof StorageError) return err.permanent ? 'permanent' : 'transient';
  return 'transient';
}

export function isRetryable(err: unknown): boolean {
  return failureKind(err) === 'transient';
}

/** A failure no other file of the run can escape: stop sending them. */
export function stopsTheRun(err: unknown): boolean {
  const kind = failureKind(err);
  return kind === 'permanent' || kind === 'aborted';
}

/**
 * The source's own error, also where an adapter wrapped it in its StorageError (as `cause`): the file, not the store,
 * is then what failed.
 */
export function sourceReadErrorIn(err: unknown): SourceReadError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    if (e instanceof SourceReadError) return e;
    e = e.cause;
  }
  return undefined;
}
