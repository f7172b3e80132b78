// `list --cluster [NAME]`: the cluster backups under the destination, complete or not, with the members missing
// by name, the snapshot skew and the totals. A backup whose members are all complete but that has no cluster
// manifest yet gets one here (any run may write it; create-only, so a racing writer never replaces it).
import type { CatalogContext } from './catalog-context.ts';
import { manifestCache } from '../catalog/select.ts';
import { clusterSegment } from '../cluster/slot.ts';
import { completeClusterBackup, listClusterBackups, type ClusterBackupState, type ClusterCatalogDeps } from '../cluster/cluster-catalog.ts';
import { formatBytes } from '../output/human.ts';
import { skewSeconds } from '../cluster/records.ts';
import { formatColumns } from '../output/columns.ts';

export interface ClusterRow {
  readonly cluster: string;
  readonly id: string;
  readonly complete: boolean;
  readonly members: number;
  readonly expected: number;
  /** Expected members without a complete backup: address (node id), and whether they joined. */
  readonly missing: readonly { readonly address: string; readonly hostId: string; readonly joined: boolean }[];
  readonly skewSeconds: number | undefined;
  readonly files: number;
  readonly bytes: number;
  readonly problems: readonly string[];
}

export async function clusterDeps(ctx: CatalogContext): Promise<ClusterCatalogDeps> {
  return { backend: ctx.backend, signal: ctx.signal, concurrency: ctx.concurrency, cacheDir: await manifestCache(ctx.stateDir) };
}

/** Every cluster backup (of one cluster), completed where it can be (not under --dry-run). */
export async function clusterBackups(ctx: CatalogContext, cluster: string | undefined): Promise<ClusterBackupState[]> {
  const deps = await clusterDeps(ctx);
  const states = await listClusterBackups(deps, cluster === undefined ? undefined : clusterSegment(cluster));
  const out: ClusterBackupState[] = [];
  for (const s of states) {
    const summary = ctx.dryRun ? s.summary : await completeClusterBackup(deps, s, 'list --cluster', ctx.now());
    out.push(summary === s.summary ? s : { ...s, summary });
  }
  return out;
}

export function clusterRow(s: ClusterBackupState): ClusterRow {
  const m = s.summary;
  if (m !== undefined) {
    return { cluster: s.cluster, id: s.id, complete: true, members: m.members.length, expected: m.members.length, missing: [],
      skewSeconds: m.skewSeconds, files: m.totals.files, bytes: m.totals.bytes, problems: s.problems };
  }
  const done = [...s.completed.values()];
  return {
    cluster: s.cluster, id: s.id, complete: false, members: s.completed.size, expected: s.expected.length,
    missing: s.missing.map((x) => ({ address: x.member.address, hostId: x.member.hostId, joined: x.joined })),
    skewSeconds: done.length > 1 ? skewSeconds(done.map((x) => x.snapshotAt)) : undefined,
    files: done.reduce((n, x) => n + x.files, 0), bytes: done.reduce((n, x) => n + x.bytes, 0), problems: s.problems,
  };
}

export async function clusterListCommand(input: { readonly cluster: string | true }, ctx: CatalogContext): Promise<void> {
  const rows = (await clusterBackups(ctx, input.cluster === true ? undefined : input.cluster)).map(clusterRow);
  if (ctx.json) {
    ctx.out(`${JSON.stringify({ destination: ctx.backend.description, clusterBackups: rows })}\n`);
    return;
  }
  if (rows.length === 0) {
    ctx.reporter.emit({ type: 'info', message: `no cluster backups in ${ctx.backend.description}` });
    return;
  }
  const lines = rows.map((r) => [
    r.cluster, r.id, r.complete ? 'yes' : 'no', `${r.members}/${r.expected}`, r.skewSeconds === undefined ? '-' : `${r.skewSeconds} s`,
    String(r.files), formatBytes(r.bytes),
    [...r.missing.map((x) => `${x.address} ${x.joined ? '(joined, no manifest: running or failed)' : '(never joined)'}`),
      ...r.problems.map((p) => `unreadable: ${p}`)].join('; ') || '-',
  ]);
  ctx.out(formatColumns(['CLUSTER', 'ID', 'COMPLETE', 'MEMBERS', 'SKEW', 'FILES', 'BYTES', 'MISSING'], lines));
}
