// `detect`: what a run would use on this node. Writes nothing; prints data (JSON with --json).
import type { CloudFacts } from '../domain.ts';

export interface DetectReport {
  readonly cloud: CloudFacts;
  readonly nodeId: string;
  readonly hostname: string;
  readonly dataDirs: readonly string[];
  readonly dataDirsSource: string;
  readonly destination: string;
  readonly nodetool: string;
}

export function formatDetectReport(r: DetectReport): string {
  const facts = Object.entries(r.cloud)
    .filter(([k, v]) => k !== 'cloud' && v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return [
    `cloud:        ${r.cloud.cloud}${facts ? ` (${facts})` : ''}`,
    `node id:      ${r.nodeId}`,
    `data dirs:    ${r.dataDirs.join(', ')} (from ${r.dataDirsSource})`,
    `destination:  ${r.destination}`,
    `nodetool:     ${r.nodetool}`,
    '',
  ].join('\n');
}
