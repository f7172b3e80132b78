// Times on the command line: ISO 8601, or `now`. Pure.
import { UsageError } from '../errors.ts';

/** Milliseconds since the epoch. A time without a zone is read as UTC, so the result never depends on TZ. */
export function parseTimeOption(name: string, spec: string, now: Date): number {
  if (spec === 'now') return now.getTime();
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(spec.trim());
  if (iso === null) throw new UsageError(`--${name} ${spec}: expected an ISO 8601 time such as 2026-11-26T13:04:00Z, or "now"`);
  const text = spec.trim().replace(' ', 'T');
  const ms = Date.parse(iso[1] === undefined ? `${text.includes('T') ? text : `${text}T00:00:00`}Z` : text);
  if (!Number.isFinite(ms)) throw new UsageError(`--${name} ${spec}: not a valid time`);
  return ms;
}
