// `--until TIME`: an ISO 8601 time, or `now`.
import { parseTimeOption } from '../config/time.ts';

/** Milliseconds since the epoch. A time without a zone is read as UTC, so the result never depends on TZ. */
export function parseUntil(spec: string, now: Date): number {
  return parseTimeOption('until', spec, now);
}
