// The few error classes the tool throws. Only main.ts maps them to exit codes (see exit-codes.ts).

/** Bad flags, values, configuration or environment: the operator must change something. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** nodetool could not be run or exited non-zero. Exit 3. */
export class NodetoolError extends Error {
  override readonly name = 'NodetoolError';
  readonly exitCode: number | undefined;
  readonly stderrTail: string;
  constructor(message: string, details: { exitCode?: number; stderrTail?: string; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.exitCode = details.exitCode;
    this.stderrTail = details.stderrTail ?? '';
  }
}

/** Some files were not stored (or a stored object does not match). The backup is not complete. Exit 4. */
export class IncompleteError extends Error {
  override readonly name = 'IncompleteError';
  readonly failures: readonly string[];
  constructor(message: string, failures: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.failures = failures;
  }
}

/**
 * The backup is complete (its manifest is stored), but local clean-up after it was not: files --delete-uploaded
 * could not remove, or a snapshot that could not be cleared. Exit 5: nothing needs backing up again, something
 * needs removing by hand (the message says what and how).
 */
export class CleanupIncompleteError extends Error {
  override readonly name = 'CleanupIncompleteError';
  /** The manifest of the complete backup. */
  readonly manifestKey: string;
  constructor(message: string, manifestKey: string, options?: { cause?: unknown }) {
    super(message, options);
    this.manifestKey = manifestKey;
  }
}

/**
 * A local file to be uploaded could not be read (it vanished, or may not be read). Thrown by the file source
 * itself, so that every adapter and the retry layer see the cause is the file, not the store: not retried, and
 * a failure of this file only.
 */
export class SourceReadError extends Error {
  override readonly name = 'SourceReadError';
  readonly path: string;
  /** The errno code, e.g. ENOENT. */
  readonly code: string;
  constructor(path: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    const errno = typeof code === 'string' ? code : 'EIO';
    const text = errno === 'ENOENT' ? 'it no longer exists' : cause instanceof Error ? cause.message : String(cause);
    super(`cannot read ${path}: ${text} (${errno})`, { cause });
    this.path = path;
    this.code = errno;
  }
}

/** Another run holds the lock. Exit 75 (EX_TEMPFAIL: cron may simply try again later). */
export class LockedError extends Error {
  override readonly name = 'LockedError';
}

/** A storage operation failed. `permanent` errors (auth, missing bucket) are not worth retrying. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly permanent: boolean;
  readonly code: string | undefined;
  constructor(message: string, details: { permanent: boolean; code?: string; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.permanent = details.permanent;
    this.code = details.code;
  }
}

/** An object key or manifest path that would escape its root, or otherwise cannot be trusted. */
export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}
