// Reading one option value, whoever gave it (a flag, an environment variable, the configuration file): each
// reader names where the value came from (`label`) and what it got, in one line. Pure.
import { UsageError } from '../errors.ts';

/** The value as the operator wrote it: "abc" quoted, a YAML number or boolean as it is. */
export function shown(raw: unknown): string {
  return typeof raw === 'string' ? JSON.stringify(raw) : Array.isArray(raw) ? `a list` : raw === null ? 'nothing' : typeof raw === 'object' ? 'a mapping' : String(raw);
}

function expected(label: string, what: string, raw: unknown): UsageError {
  return new UsageError(`${label}: expected ${what}, got ${shown(raw)}`);
}

function numberOf(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw)) return Number(raw);
  return undefined;
}

export function positiveInteger(label: string, raw: unknown): number {
  const n = numberOf(raw);
  if (n === undefined || !Number.isInteger(n) || n < 1) throw expected(label, 'a positive integer', raw);
  return n;
}

/** A whole number, 0 allowed (counts such as --keep-last). */
export function wholeNumber(label: string, raw: unknown): number {
  const n = numberOf(raw);
  if (n === undefined || !Number.isInteger(n) || n < 0) throw expected(label, 'a whole number (0 or more)', raw);
  return n;
}

export function nonNegativeNumber(label: string, raw: unknown): number {
  const n = numberOf(raw);
  if (n === undefined || !Number.isFinite(n) || n < 0) throw expected(label, 'a number >= 0', raw);
  return n;
}

export function portNumber(label: string, raw: unknown): number {
  const n = numberOf(raw);
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > 65535) throw expected(label, 'a port number (1-65535)', raw);
  return n;
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

export function booleanValue(label: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && TRUE.test(raw)) return true;
  if (typeof raw === 'string' && FALSE.test(raw)) return false;
  throw expected(label, 'true or false', raw);
}

export function oneOf<T extends string>(label: string, raw: unknown, choices: readonly T[]): T {
  const found = choices.find((c) => c === raw);
  if (found === undefined) throw expected(label, `one of ${choices.join(', ')}`, raw);
  return found;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** Sizes like 64MiB, 5mb, 1048576. */
export function sizeValue(label: string, raw: unknown): number {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : undefined;
  const m = text === undefined ? null : /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${label}: cannot read size ${shown(raw)} (e.g. 64MiB, 100MB, 1048576)`);
  return Math.round(Number(m[1]) * unit);
}

/** Parses sizes like 64MiB, 5mb, 1048576 given to --`name`. */
export function parseSize(name: string, raw: string): number {
  return sizeValue(`--${name}`, raw);
}

/** A bandwidth such as 50MiB or 50MiB/s (per second), more than 0. */
export function rateValue(label: string, raw: unknown): number {
  const n = sizeValue(label, typeof raw === 'string' ? raw.replace(/\/s\s*$/i, '') : raw);
  if (n <= 0) throw expected(label, 'a rate more than 0', raw);
  return n;
}
