// `detect`: what a run would use on this node. Writes nothing; prints data (JSON with --json).
import type { CloudFacts } from '../domain.ts';
import { describeIdentity, type RememberedIdentity } from '../cloud/remembered-identity.ts';
import { describeOrigin, type OptionValue, type ResolvedOptions } from '../config/options.ts';
import { archivingLines, type ArchivingSetup } from '../commitlog/archiving-setup.ts';

/** One option's effective value and where it came from ("flag", "env VAR", "config FILE:LINE", "default"). */
export interface OptionSource {
  readonly value: OptionValue;
  readonly source: string;
}

export interface DetectReport {
  readonly cloud: CloudFacts;
  readonly nodeId: string;
  readonly hostname: string;
  readonly dataDirs: readonly string[];
  readonly dataDirsSource: string;
  readonly destination: string;
  readonly nodetool: string;
  /** The identity the state directory remembers (null: none yet), and where. */
  readonly remembered: RememberedIdentity | null;
  readonly rememberedPath: string;
  /** The configuration file read (null: none). */
  readonly configFile: string | null;
  /** Every option that has a value. */
  readonly options: Readonly<Record<string, OptionSource>>;
  /** Commit-log archiving on this node (point-in-time restore). */
  readonly commitLogArchiving?: ArchivingSetup;
}

export function optionSources(values: ResolvedOptions['values']): Record<string, OptionSource> {
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [name, { value: v.value, source: describeOrigin(v.origin) }]));
}

export function formatDetectReport(r: DetectReport): string {
  const facts = Object.entries(r.cloud)
    .filter(([k, v]) => k !== 'cloud' && v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return [
    `cloud:        ${r.cloud.cloud}${facts ? ` (${facts})` : ''}`,
    `node id:      ${r.nodeId}`,
    `remembered:   ${r.remembered ? `${describeIdentity(r.remembered)}, since ${r.remembered.firstSeen}, last seen ` +
      `${r.remembered.lastSeen}` : 'nothing yet'} (${r.rememberedPath})`,
    `data dirs:    ${r.dataDirs.join(', ')} (from ${r.dataDirsSource})`,
    `destination:  ${r.destination}`,
    `nodetool:     ${r.nodetool}`,
    `config file:  ${r.configFile ?? 'none'}`,
    ...(r.commitLogArchiving ? archivingLines(r.commitLogArchiving) : []),
    'options:',
    ...optionLines(r.options),
    '',
  ].join('\n');
}

function optionLines(options: Readonly<Record<string, OptionSource>>): string[] {
  const entries = Object.entries(options);
  const width = Math.max(0, ...entries.map(([name]) => name.length));
  const shown = (v: OptionValue): string => (Array.isArray(v) ? v.join(', ') : String(v));
  return entries.map(([name, o]) => `  ${name.padEnd(width)}  ${shown(o.value)}  (${o.source})`);
}
