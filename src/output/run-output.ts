// Chooses and builds a run's output from the options: JSON lines on stdout, or human lines on stderr at the chosen
// level. Everything else that prints human lines on stderr (nodetool's own output, early warnings) goes through
// the same log writer, so it gets the same timestamps and never runs into the live line.
import { UsageError } from '../errors.ts';
import type { Reporter } from '../report.ts';
import { createHumanReporter, type OutputLevel } from './human.ts';
import { createJsonReporter } from './json.ts';
import { createLogWriter } from './log-writer.ts';
import { realEvery, type Every } from './timer.ts';

export interface OutputOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
}

export interface OutputIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stderrIsTty: boolean;
  readonly now: () => Date;
}

export interface RunOutput {
  readonly reporter: Reporter;
  /** stderr for human text that is not an event (nodetool's output, warnings printed beside --json). */
  readonly stderr: (text: string) => void;
  /**
   * On a signal: no more periodic output, and nothing written now (after SIGHUP the terminal may be gone, and a
   * failed write would end the process before it has cleaned up). A live line left is cleared by the next line.
   */
  stop(): void;
  /** Ends live output for good and clears the live line: before the run's outcome is printed. */
  close(): void;
}

/** --quiet and --verbose contradict each other; --json always says everything. */
export function outputLevel(o: OutputOptions): OutputLevel {
  if (o.quiet && o.verbose) throw new UsageError('--quiet and --verbose cannot be used together');
  if (o.json) return 'verbose';
  return o.quiet ? 'quiet' : o.verbose ? 'verbose' : 'normal';
}

export function createRunOutput(o: OutputOptions, io: OutputIo, every: Every = realEvery): RunOutput {
  const level = outputLevel(o);
  const log = createLogWriter({ write: io.stderr, isTty: io.stderrIsTty, now: io.now });
  const clock = (): number => io.now().getTime();
  const reporter = o.json
    ? createJsonReporter({ write: io.stdout, now: io.now, clock, every })
    : createHumanReporter({ log, level, isTty: io.stderrIsTty, now: clock, every });
  return { reporter, stderr: (text) => log.print(text), stop: () => reporter.stop(), close: () => reporter.close() };
}
