// What `restore --cluster ID --plan` prints: per target node its sources, files, bytes, tokens and an estimate of
// the time, then the schema to recreate first. As text or one JSON document. Pure.
import { formatBytes } from '../output/human.ts';
import type { ClusterManifest } from './records.ts';
import { backupRate, tokenSettings, type KeyspaceCover, type LoadShare, type SameShapeTarget } from './restore-plan.ts';

export interface PlanFacts {
  readonly manifest: ClusterManifest;
  /** schema.cql of the cluster backup. */
  readonly schema: string;
  readonly plan:
    | { readonly kind: 'same-shape'; readonly targets: readonly SameShapeTarget[] }
    | { readonly kind: 'load'; readonly shares: readonly LoadShare[]; readonly cover: readonly KeyspaceCover[] };
}

/** The statements of schema.cql, one per entry. */
export function schemaStatements(cql: string): string[] {
  return cql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean).map((s) => `${s};`);
}

export function planDocument(f: PlanFacts): Record<string, unknown> {
  const { manifest, plan } = f;
  const rate = backupRate(manifest.members);
  const base = {
    command: 'restore', cluster: manifest.cluster, clusterName: manifest.clusterName, id: manifest.id, partitioner: manifest.partitioner,
    mode: plan.kind, dryRun: true, rateBytesPerSecond: rate === undefined ? null : Math.round(rate),
    schema: { key: manifest.schema.cqlKey, statements: schemaStatements(f.schema) },
  };
  if (plan.kind === 'same-shape') {
    return {
      ...base,
      targets: plan.targets.map((t) => {
        const tokens = tokenSettings(t.member);
        return {
          target: t.target, dataCenter: t.member.dataCenter, rack: t.member.rack,
          sources: [{ address: t.member.address, hostId: t.member.hostId, nodeId: t.member.nodeId, manifestKey: t.member.manifestKey }],
          files: t.files, bytes: t.bytes, numTokens: tokens.numTokens, initialToken: tokens.initialToken, estimateSeconds: t.estimateSeconds ?? null,
        };
      }),
    };
  }
  return {
    ...base,
    targets: plan.shares.map((s) => ({
      share: `${s.share}/${plan.shares.length}`, target: s.target ?? null, files: s.files, bytes: s.bytes, estimateSeconds: s.estimateSeconds ?? null,
      sources: s.units.map((u) => ({ address: u.member.address, hostId: u.member.hostId, nodeId: u.member.nodeId, keyspace: u.keyspace, files: u.files, bytes: u.bytes })),
    })),
    cover: plan.cover.map((c) => ({ ...c, copies: c.oneCopyBytes > 0 ? Math.round((c.loadBytes / c.oneCopyBytes) * 100) / 100 : null })),
  };
}

const seconds = (s: number | undefined) => (s === undefined ? 'unknown' : s < 120 ? `${s} s` : `${Math.round(s / 60)} min`);

export function planText(f: PlanFacts): string {
  const { manifest, plan } = f;
  const rate = backupRate(manifest.members);
  const lines = [
    `restore plan for cluster backup ${manifest.id} (cluster ${manifest.clusterName}, ${manifest.members.length} members, ` +
      `${formatBytes(manifest.totals.bytes)}); nothing was written`,
    `estimates at the rate its backups ran: ${rate === undefined ? 'unknown' : `${formatBytes(rate)}/s`} per node`, '',
  ];
  if (plan.kind === 'same-shape') {
    lines.push('same shape: each new node takes one member\'s files and tokens (restore --cluster ID --as MEMBER --to <data dir>, before its first start)');
    for (const t of plan.targets) {
      const tokens = tokenSettings(t.member);
      lines.push('', `target ${t.target} (${t.member.dataCenter}/${t.member.rack}) ← member ${t.member.address} (node id ${t.member.nodeId}): ` +
        `${t.files} files, ${formatBytes(t.bytes)}, about ${seconds(t.estimateSeconds)}`, ...tokens.lines.map((l) => `    ${l}`));
    }
  } else {
    lines.push(`another size: ${plan.shares.length} shares through the bulk loader (restore --cluster ID --load --share K/${plan.shares.length} --to DIR on each target)`);
    for (const s of plan.shares) {
      lines.push('', `share ${s.share}/${plan.shares.length}${s.target === undefined ? '' : ` on ${s.target}`}: ${s.files} files, ` +
        `${formatBytes(s.bytes)}, about ${seconds(s.estimateSeconds)}`,
        ...s.units.map((u) => `    ${u.keyspace} from ${u.member.address} (${u.member.rack}): ${u.files} files, ${formatBytes(u.bytes)}`));
    }
    lines.push('', 'covering sets (each range loaded from one replica):',
      ...plan.cover.map((c) => `    ${c.keyspace}: ${c.members.length} of ${manifest.members.length} members, ${formatBytes(c.loadBytes)} of ` +
        `${formatBytes(c.backupBytes)} backed up (${c.copiesKept} copies kept; ${c.oneCopyBytes > 0 ? (c.loadBytes / c.oneCopyBytes).toFixed(2) : '-'} copies loaded)`));
  }
  const statements = schemaStatements(f.schema);
  lines.push('', plan.kind === 'same-shape'
    ? `schema (${statements.length} statements, ${manifest.schema.cqlKey}): it comes back with each member's system_schema; nothing to run`
    : `schema to create first (${statements.length} statements, ${manifest.schema.cqlKey}; --create-schema runs them with cqlsh):`,
    ...statements.map((s) => `    ${s.split('\n')[0] ?? ''}${s.includes('\n') ? ' …' : ''}`), '');
  return lines.join('\n');
}
