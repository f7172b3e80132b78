// `detect`: what a run would use on this node. Writes nothing; prints data (JSON with --json).
import type { CloudFacts } from '../domain.ts';
import { describeIdentity, type RememberedIdentity } from '../cloud/remembered-identity.ts';

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
    '',
  ].join('\n');
}
