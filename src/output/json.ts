// --json: one JSON object per line on stdout, for scripts and log shippers.
import type { Reporter, RunEvent } from '../report.ts';

export function createJsonReporter(write: (text: string) => void, now: () => Date): Reporter {
  return {
    emit(event: RunEvent): void {
      write(`${JSON.stringify({ time: now().toISOString(), ...event })}\n`);
    },
  };
}
