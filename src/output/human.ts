// Human-readable output on stderr (stdout stays free for data). How much is said is the output level's choice:
// quiet: warnings and the summary; normal: also the start and info lines, and on a terminal a live progress line;
// verbose: also every finished file and every retry.
import type { LiveProgress, Reporter, RunEvent } from '../report.ts';
import { createProgressMeter } from './progress.ts';
import { formatBytes, formatProgressLine } from './format.ts';
import type { LogWriter } from './log-writer.ts';
import type { Every } from './timer.ts';

export { formatBytes } from './format.ts';

export type OutputLevel = 'quiet' | 'normal' | 'verbose';

export interface HumanReporterDeps {
  readonly log: LogWriter;
  readonly level: OutputLevel;
  /** stderr is a terminal: the live progress line is drawn. */
  readonly isTty: boolean;
  /** Milliseconds, for the rate. */
  readonly now: () => number;
  readonly every: Every;
}

/** The live line is redrawn this often while a transfer runs: bytes move between files finishing. */
export const REDRAW_MS = 500;

export interface HumanReporter extends Reporter {
  readonly live: LiveProgress;
  /**
   * No more redraws, and nothing written: after a signal (SIGHUP: the terminal may be gone, and a write to it would
   * fail the process before it has cleaned up). The line drawn is cleared by the next line printed, or by close().
   */
  stop(): void;
  /** Stops the live line for good and clears it (the run is ending). */
  close(): void;
}

export function createHumanReporter(deps: HumanReporterDeps): HumanReporter {
  const meter = createProgressMeter(deps.now);
  const showLive = deps.isTty && deps.level !== 'quiet';
  let stopTicking: (() => void) | undefined;
  let closed = false;
  const line = (text: string): void => deps.log.print(`${text}\n`);
  const redraw = (): void => deps.log.live(formatProgressLine(meter.figures()));
  let silent = false; // after a signal: nothing is written for the live line any more (see stop())
  const endLive = (): void => {
    stopTicking?.();
    stopTicking = undefined;
    if (silent) deps.log.forgetLive();
    else deps.log.clearLive();
  };
  const beginLive = (): void => {
    endLive();
    if (!showLive || closed) return;
    stopTicking = deps.every(REDRAW_MS, redraw);
    redraw();
  };
  return {
    emit(event: RunEvent): void {
      switch (event.type) {
        case 'start':
          meter.start(event);
          if (deps.level !== 'quiet') line(startLine(event));
          beginLive();
          break;
        case 'file':
          meter.fileDone(event);
          if (deps.level === 'verbose') line(fileLine(event));
          break;
        case 'retry':
          if (deps.level === 'verbose') line(`retrying ${event.what} (attempt ${event.attempt + 1}): ${event.error}`);
          break;
        case 'info':
          if (deps.level !== 'quiet') line(event.message);
          break;
        case 'warning':
          line(`warning: ${event.message}`);
          break;
        case 'progress':
          break;
        case 'summary':
          endLive();
          line(summaryLine(event));
          break;
      }
    },
    live: {
      track: (path, size) => meter.track(path, size),
      end: endLive,
    },
    stop(): void {
      closed = true;
      silent = true;
      endLive();
    },
    close(): void {
      closed = true;
      silent = false;
      endLive();
    },
  };
}

function startLine(e: Extract<RunEvent, { type: 'start' }>): string {
  const from = e.source !== undefined ? ` from ${e.source}` : '';
  const to = e.destination !== undefined ? ` → ${e.destination}` : '';
  return `${e.command} ${e.tag}: ${e.files} files, ${formatBytes(e.bytes)}${from}${to}`;
}

function fileLine(e: Extract<RunEvent, { type: 'file' }>): string {
  const size = formatBytes(e.size);
  if (e.resent === true) return `${e.action} ${e.path} (${size}, sent again: the store no longer held it as recorded)`;
  switch (e.action) {
    case 'reused':
      return `reused ${e.path} (${size}, already stored)`;
    case 'copied':
      return `copied ${e.path} (${size}, copied in the store)`;
    case 'present':
      return `present ${e.path} (${size}, already there with its checksum)`;
    case 'verified':
      return `verified ${e.key} (${size})`;
    default:
      return `${e.action} ${e.path} (${size})`;
  }
}

function summaryLine(e: Extract<RunEvent, { type: 'summary' }>): string {
  const rate = e.seconds > 0 ? `${formatBytes(e.uploadedBytes / e.seconds)}/s` : '-';
  return (
    `${e.command} ${e.tag} complete: ${e.files} files, ${formatBytes(e.bytes)} ` +
    `(${e.uploadedFiles} uploaded, ${formatBytes(e.uploadedBytes)}; ${e.copiedFiles} copied in the store; ${e.reusedFiles} already stored) ` +
    `in ${e.seconds.toFixed(1)} s, ${rate}; manifest ${e.manifest ?? '-'}`
  );
}
