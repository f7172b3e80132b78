// --json: one JSON object per line on stdout, for scripts and log shippers (docs/events.md). While a transfer
// runs, a `progress` event about once a second, and a final one when it ends.
import type { LiveProgress, Reporter, RunEvent } from '../report.ts';
import { createProgressMeter } from './progress.ts';
import type { Every } from './timer.ts';

export interface JsonReporterDeps {
  readonly write: (text: string) => void;
  /** The `time` of each event. */
  readonly now: () => Date;
  /** Milliseconds, for the rate. */
  readonly clock: () => number;
  readonly every: Every;
}

export const PROGRESS_EVERY_MS = 1000;

export interface JsonReporter extends Reporter {
  readonly live: LiveProgress;
  /** Stops the periodic events for good (a signal, or the run is ending); writes nothing. */
  stop(): void;
  close(): void;
}

export function createJsonReporter(deps: JsonReporterDeps): JsonReporter {
  const meter = createProgressMeter(deps.clock);
  let stopTicking: (() => void) | undefined;
  let active = false;
  let closed = false;
  const write = (event: RunEvent): void => deps.write(`${JSON.stringify({ time: deps.now().toISOString(), ...event })}\n`);
  const stop = (): void => {
    stopTicking?.();
    stopTicking = undefined;
  };
  const end = (): void => {
    stop();
    if (!active) return;
    active = false;
    write(meter.figures(true));
  };
  const halt = (): void => {
    closed = true;
    stop();
    active = false;
  };
  return {
    emit(event: RunEvent): void {
      if (event.type === 'start') {
        end();
        meter.start(event);
        write(event);
        if (closed) return;
        active = true;
        stopTicking = deps.every(PROGRESS_EVERY_MS, () => write(meter.figures()));
        return;
      }
      if (event.type === 'file') meter.fileDone(event);
      if (event.type === 'summary') end();
      write(event);
    },
    live: {
      track: (path, size) => meter.track(path, size),
      end,
    },
    stop: halt,
    close: halt,
  };
}
