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
