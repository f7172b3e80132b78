// Durations on the command line: `90s`, `10m`, `2h`, or plain seconds. Pure.
import { UsageError } from '../errors.ts';

const UNITS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$/i.exec(raw);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--${name}: expected a duration such as 90s, 10m or 2h, got ${JSON.stringify(raw)}`);
  return Math.round(Number(m[1]) * unit);
}
