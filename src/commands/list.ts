import type { CatalogContext } from './catalog-context.ts';
import { formatTable, groupByTag } from '../catalog/listing.ts';
import { listNodeIds, loadManifests, manifestCache, type CatalogReader, type ManifestProblem } from '../catalog/select.ts';
import { unfinishedSnapshots } from '../catalog/unfinished.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { formatBytes } from '../output/human.ts';

export interface ListInput {
  readonly allNodes: boolean;
}

export async function listCommand(input: ListInput, ctx: CatalogContext): Promise<void> {
  const reader: CatalogReader = {
    backend: ctx.backend, cacheDir: await manifestCache(ctx.stateDir), concurrency: ctx.concurrency, signal: ctx.signal,
  };
  const nodeIds = input.allNodes ? await listNodeIds(ctx.backend, ctx.signal) : [ctx.nodeId];
  const { manifests, problems } = await loadAll(reader, nodeIds);
  const rows = groupByTag(manifests, nodeIds, await unfinishedSnapshots(ctx.stateDir, ctx.nodeId));
  if (ctx.json) {
    // One document, one line: scripts parse stdout whole.
    ctx.out(`${JSON.stringify({ destination: ctx.backend.description, nodes: nodeIds, backups: rows, problems })}\n`);
    return;
  }
  for (const p of problems) ctx.reporter.emit({ type: 'warning', message: `cannot read manifest ${p.key}: ${p.error}` });
  if (rows.length === 0) {
    ctx.reporter.emit({ type: 'info', message: `no backups for ${input.allNodes ? 'any node' : `node ${ctx.nodeId}`} in ${ctx.backend.description}` });
    return;
  }
  ctx.out(formatTable(rows, nodeIds.length, formatBytes));
}

async function loadAll(reader: CatalogReader, nodeIds: readonly string[]): Promise<{ manifests: Manifest[]; problems: ManifestProblem[] }> {
  const manifests: Manifest[] = [];
  const problems: ManifestProblem[] = [];
  for (const nodeId of nodeIds) {
    const loaded = await loadManifests(reader, nodeId);
    manifests.push(...loaded.manifests);
    problems.push(...loaded.problems);
  }
  return { manifests, problems };
}
