// What a run tells the operator. Commands emit events; a reporter renders them (human lines or JSON lines).
// Every event and its fields are documented in docs/events.md (schema: docs/events.schema.json).

/** How a file was finished: stored by a backup, restored, or checked by `verify --deep`. */
export type FileAction = 'uploaded' | 'reused' | 'copied' | 'restored' | 'present' | 'verified';

export type RunEvent =
  /**
   * A transfer begins: `files` files of `bytes` bytes in all. `destination` is where the bytes go (absent when they
   * are only read, as by verify --deep), `source` where they come from when that is a store (restore, verify).
   */
  | { readonly type: 'start'; readonly command: string; readonly tag: string; readonly destination?: string;
      readonly source?: string; readonly files: number; readonly bytes: number }
  /**
   * One file is finished. `bytes` were moved for it by this run (0 when reused, copied in the store or already
   * present), `size` is the file's size. `resent`: a reused object the store no longer held, sent again.
   */
  | { readonly type: 'file'; readonly path: string; readonly key: string; readonly action: FileAction;
      readonly bytes: number; readonly size: number; readonly resent?: true }
  | { readonly type: 'retry'; readonly what: string; readonly attempt: number; readonly error: string }
  | { readonly type: 'info'; readonly message: string }
  | { readonly type: 'warning'; readonly message: string }
  | ProgressEvent
  | { readonly type: 'summary'; readonly command: string; readonly tag: string; readonly ok: boolean;
      readonly files: number; readonly uploadedFiles: number; readonly reusedFiles: number; readonly copiedFiles: number;
      readonly bytes: number; readonly uploadedBytes: number; readonly seconds: number;
      readonly mbPerSecond: number; readonly manifest?: string; readonly failures: readonly string[] };

/** The figures of a transfer in progress (reporters produce these; commands never emit them). */
export interface ProgressEvent {
  readonly type: 'progress';
  readonly command: string;
  readonly tag: string;
  readonly totalFiles: number;
  /** Files finished, however (sent, reused, copied, restored, already present, verified). */
  readonly doneFiles: number;
  /** Of doneFiles: finished without moving their bytes (reused or copied in the store, or already present). */
  readonly reusedFiles: number;
  readonly inFlightFiles: number;
  readonly totalBytes: number;
  /** Bytes of finished files, plus the bytes of files in flight moved so far (at most each one's size). */
  readonly doneBytes: number;
  /** Bytes actually moved by this run so far (retries included): what the rate measures. */
  readonly transferredBytes: number;
  /** doneBytes of totalBytes (files when there are no bytes), 0–100. */
  readonly percent: number;
  /** Over the last few seconds; null until there is a measurement. */
  readonly bytesPerSecond: number | null;
  /** Remaining bytes at the current rate; null while the rate is unknown or zero. */
  readonly etaSeconds: number | null;
  readonly elapsedSeconds: number;
  /** The last progress event of this transfer. */
  readonly final: boolean;
}

/** Counts one file's bytes as they move, from when they start until the file is finished or has failed. */
export interface FileTracker {
  /** `bytes` more were moved. A retry counts its bytes again; a file never counts more than its size as done. */
  add(bytes: number): void;
  /** No more bytes for this file (finished, failed or abandoned). Idempotent. */
  end(): void;
}

/** Live progress of the transfer that the last `start` event began. */
export interface LiveProgress {
  /** A file's bytes begin to move (sent, copied, downloaded or read back): returns its counter. */
  track(path: string, size: number): FileTracker;
  /** The transfer is over, complete or not: the final figures are reported, a live line is cleared. */
  end(): void;
}

export interface Reporter {
  emit(event: RunEvent): void;
  /** Absent where nothing is shown live (silentReporter, tests' collecting reporters). */
  readonly live?: LiveProgress;
}

export const silentReporter: Reporter = { emit: () => {} };

const idleTracker: FileTracker = { add: () => {}, end: () => {} };

/** The one way commands count a file's bytes: a no-op for a reporter without live progress. */
export function trackFile(reporter: Reporter, path: string, size: number): FileTracker {
  return reporter.live?.track(path, size) ?? idleTracker;
}

/** Marks the end of the transfer begun by the last `start` event (call it whether the transfer succeeded or not). */
export function endTransfer(reporter: Reporter): void {
  reporter.live?.end();
}
