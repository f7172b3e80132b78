// The command line printed after a failed snapshot upload: the options this run was given on its command line
// (every value of a repeated option, each value quoted for a POSIX shell), with `snapshot --resume TAG` instead
// of nodetool's arguments. Built from what the parser read, not from argv by hand, so nothing is dropped.
import { globalOptions, type OptionSpec } from './options.ts';

/** Options of `snapshot` itself that a resume must repeat. */
const SNAPSHOT_FLAGS = ['keep-snapshot'] as const;

export function resumeCommand(parsed: Readonly<Record<string, unknown>>, tag: string): string {
  const words = ['cass-backup-run', 'snapshot', '--resume', tag];
  for (const [name, spec] of Object.entries(globalOptions) as [string, OptionSpec][]) words.push(...flagWords(name, spec, parsed[name]));
  for (const name of SNAPSHOT_FLAGS) if (parsed[name] === true) words.push(`--${name}`);
  return words.map(shellQuote).join(' ');
}

function flagWords(name: string, spec: OptionSpec, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (spec.type === 'boolean') return [value === false ? `--no-${name}` : `--${name}`];
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => [`--${name}`, String(v)]);
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
