import type { CatalogContext } from './catalog-context.ts';
import { formatTable, groupByTag } from '../catalog/listing.ts';
import { listNodeIds, manifestCache, type CatalogReader, type ManifestProblem } from '../catalog/select.ts';
import { loadSummaries, type ManifestSummary } from '../catalog/summaries.ts';
import { unfinishedSnapshots } from '../catalog/unfinished.ts';
import { formatBytes } from '../output/human.ts';
import { describeLease, type JudgedLease } from '../catalog/leases.ts';
import { readLeases } from '../catalog/run-lease.ts';

export interface ListInput {
  readonly allNodes: boolean;
}

export async function listCommand(input: ListInput, ctx: CatalogContext): Promise<void> {
  const reader: CatalogReader = {
    backend: ctx.backend, cacheDir: await manifestCache(ctx.stateDir), concurrency: ctx.concurrency, signal: ctx.signal,
  };
  const nodeIds = input.allNodes ? await listNodeIds(ctx.backend, ctx.signal) : [ctx.nodeId];
  const { manifests, problems } = await loadAll(reader, nodeIds);
  const damaged = problems.map((p) => ({ nodeId: p.nodeId, tag: p.tag, kind: p.damaged?.kind, startedAt: p.damaged?.startedAt, error: p.error }));
  const rows = groupByTag(manifests, nodeIds, await unfinishedSnapshots(ctx.stateDir, ctx.nodeId), damaged);
  const runs = await runsOf(ctx, nodeIds);
  if (ctx.json) {
    // One document, one line: scripts parse stdout whole.
    ctx.out(`${JSON.stringify({ destination: ctx.backend.description, nodes: nodeIds, backups: rows, problems: problems.map(({ damaged: _, ...p }) => p),
      runs: runs.map((j) => ({ ...j.lease, live: j.live, ageSeconds: Math.round(j.ageMs / 1000) })) })}\n`);
    return;
  }
  for (const p of problems) ctx.reporter.emit({ type: 'warning', message: `cannot read manifest ${p.key}: ${p.error}` });
  if (rows.length === 0 && runs.length === 0) {
    ctx.reporter.emit({ type: 'info', message: `no backups for ${input.allNodes ? 'any node' : `node ${ctx.nodeId}`} in ${ctx.backend.description}` });
    return;
  }
  if (rows.length > 0) ctx.out(formatTable(rows, nodeIds.length, formatBytes));
  for (const j of runs) ctx.out(`${j.live ? 'in progress' : 'dead (no heartbeat; purge removes it)'}: ${describeLease(j)}\n`);
}

/** The runs announced in the bucket: the only view of other hosts' backups in progress. */
async function runsOf(ctx: CatalogContext, nodeIds: readonly string[]): Promise<JudgedLease[]> {
  const out: JudgedLease[] = [];
  for (const nodeId of nodeIds) out.push(...await readLeases(ctx.backend, nodeId, ctx.now(), { timeoutMs: ctx.leaseTimeoutMs }, ctx.signal));
  return out;
}

/** Summaries, not whole manifests: list shows no file entry, and summaries are cached per manifest version. */
async function loadAll(reader: CatalogReader, nodeIds: readonly string[]):
  Promise<{ manifests: ManifestSummary[]; problems: (ManifestProblem & { nodeId: string })[] }> {
  const manifests: ManifestSummary[] = [];
  const problems: (ManifestProblem & { nodeId: string })[] = [];
  for (const nodeId of nodeIds) {
    const loaded = await loadSummaries(reader, nodeId);
    manifests.push(...loaded.summaries);
    problems.push(...loaded.problems.map((p) => ({ ...p, nodeId })));
  }
  return { manifests, problems };
}
