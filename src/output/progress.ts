// The arithmetic of live progress: what is done, what is in flight, the rate over a sliding window and the ETA.
// Pure apart from the clock it is given; reporters decide when to look and how to show it.
import type { FileTracker, ProgressEvent, RunEvent } from '../report.ts';

type StartEvent = Extract<RunEvent, { type: 'start' }>;
type FileEvent = Extract<RunEvent, { type: 'file' }>;

export interface ProgressMeter {
  /** A transfer begins (a `start` event): everything counted before is forgotten. */
  start(event: StartEvent): void;
  /** A file is finished (a `file` event). */
  fileDone(event: FileEvent): void;
  track(path: string, size: number): FileTracker;
  /** The figures now; also records a sample for the rate. */
  figures(final?: boolean): ProgressEvent;
}

export interface MeterOptions {
  /** The rate is measured over this much of the recent past. */
  readonly windowMs?: number;
  /** No rate is given from less than this much time (a first burst would say nothing). */
  readonly minSpanMs?: number;
}

interface Sample {
  readonly t: number;
  readonly moved: number;
}

interface InFlight {
  readonly size: number;
  bytes: number;
}

const WITHOUT_BYTES: ReadonlySet<FileEvent['action']> = new Set(['reused', 'copied', 'present']);
// At most one sample per this interval: a burst of redraws (many warnings) must not grow the window's samples.
const SAMPLE_EVERY_MS = 200;

export function createProgressMeter(now: () => number, options: MeterOptions = {}): ProgressMeter {
  const windowMs = options.windowMs ?? 10_000;
  const minSpanMs = options.minSpanMs ?? 900;
  let command = '';
  let tag = '';
  let totalFiles = 0;
  let totalBytes = 0;
  let doneFiles = 0;
  let reusedFiles = 0;
  let doneBytes = 0;
  let moved = 0;
  let startedAt = now();
  let samples: Sample[] = [];
  // Keyed by path: a file's `file` event also ends its tracker, so its bytes are never counted twice.
  const inFlight = new Map<string, InFlight>();

  const sample = (t: number): void => {
    const last = samples.at(-1);
    if (last === undefined || t - last.t >= SAMPLE_EVERY_MS) samples.push({ t, moved });
    // Keep one sample at or beyond the window's start, so that the window is always spanned.
    while (samples.length > 2 && (samples[1] as Sample).t <= t - windowMs) samples.shift();
  };

  const rate = (t: number): number | null => {
    const first = samples[0];
    if (first === undefined || t - first.t < minSpanMs) return null;
    return ((moved - first.moved) * 1000) / (t - first.t);
  };

  return {
    start(event) {
      command = event.command;
      tag = event.tag;
      totalFiles = event.files;
      totalBytes = event.bytes;
      doneFiles = reusedFiles = doneBytes = moved = 0;
      inFlight.clear();
      startedAt = now();
      samples = [{ t: startedAt, moved: 0 }];
    },
    fileDone(event) {
      inFlight.delete(event.path);
      if (event.resent === true) {
        // Counted as done (reused) already; now its bytes were sent after all.
        reusedFiles = Math.max(0, reusedFiles - 1);
        return;
      }
      doneFiles += 1;
      doneBytes += event.size;
      if (WITHOUT_BYTES.has(event.action)) reusedFiles += 1;
    },
    track(path, size) {
      const entry: InFlight = { size, bytes: 0 };
      inFlight.set(path, entry);
      return {
        add(bytes) {
          moved += bytes;
          entry.bytes += bytes;
        },
        end() {
          if (inFlight.get(path) === entry) inFlight.delete(path);
        },
      };
    },
    figures(final = false) {
      const t = now();
      sample(t);
      let partial = 0;
      for (const f of inFlight.values()) partial += Math.min(f.bytes, f.size);
      const done = Math.min(totalBytes, doneBytes + partial);
      const files = Math.min(totalFiles, doneFiles);
      const bytesPerSecond = rate(t);
      const remaining = Math.max(0, totalBytes - done);
      return {
        type: 'progress', command, tag, totalFiles, doneFiles: files, reusedFiles: Math.min(reusedFiles, files),
        inFlightFiles: inFlight.size, totalBytes, doneBytes: done, transferredBytes: moved,
        percent: percentOf(done, totalBytes, files, totalFiles), bytesPerSecond: bytesPerSecond === null ? null : Math.round(bytesPerSecond),
        etaSeconds: etaOf(remaining, bytesPerSecond), elapsedSeconds: Math.round((t - startedAt) / 100) / 10, final,
      };
    },
  };
}

/** Bytes decide; a transfer of empty files goes by files. One decimal, never 100 before everything is done. */
export function percentOf(doneBytes: number, totalBytes: number, doneFiles: number, totalFiles: number): number {
  const [done, total] = totalBytes > 0 ? [doneBytes, totalBytes] : [doneFiles, totalFiles];
  if (total <= 0) return 100;
  if (done >= total && doneFiles >= totalFiles) return 100;
  return Math.min(99.9, Math.floor((done / total) * 1000) / 10);
}

export function etaOf(remainingBytes: number, bytesPerSecond: number | null): number | null {
  if (remainingBytes <= 0) return 0;
  if (bytesPerSecond === null || bytesPerSecond <= 0) return null;
  return Math.ceil(remainingBytes / bytesPerSecond);
}
