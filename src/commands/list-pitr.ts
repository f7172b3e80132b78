// `list --pitr`: per node, the windows of time the archived commit log covers without a gap (a restore with
// --point-in-time inside one, from a snapshot taken inside it, can be served), and where the gaps are.
import type { CatalogContext } from './catalog-context.ts';
import { listNodeIds } from '../catalog/select.ts';
import { readCommitLogCatalog } from '../commitlog/catalog.ts';
import { coveredWindows } from '../commitlog/coverage.ts';

export interface PitrNode {
  readonly nodeId: string;
  readonly segments: number;
  readonly bytes: number;
  readonly windows: { from: string; to: string; segments: number }[];
  readonly problems: readonly string[];
}

export async function listPitrCommand(input: { readonly allNodes: boolean }, ctx: CatalogContext): Promise<void> {
  const nodeIds = input.allNodes ? await listNodeIds(ctx.backend, ctx.signal) : [ctx.nodeId];
  const nodes: PitrNode[] = [];
  for (const nodeId of nodeIds) {
    const catalog = await readCommitLogCatalog(ctx.backend, nodeId, ctx.signal);
    if (input.allNodes && catalog.segments.length === 0 && catalog.problems.length === 0) continue;
    nodes.push({ nodeId, segments: catalog.segments.length, bytes: catalog.segments.reduce((n, s) => n + s.size, 0),
      windows: coveredWindows(catalog.segments), problems: catalog.problems });
  }
  ctx.out(ctx.json ? `${JSON.stringify({ command: 'list', pitr: true, nodes })}\n` : pitrText(nodes));
}

export function pitrText(nodes: readonly PitrNode[]): string {
  if (nodes.length === 0) return 'no archived commit-log segments\n';
  const lines: string[] = [];
  for (const n of nodes) {
    lines.push(`${n.nodeId}: ${n.segments} segments, ${n.bytes} bytes${n.windows.length > 1 ? `, ${n.windows.length - 1} gap(s)` : ''}`);
    for (const w of n.windows) lines.push(`  covered ${w.from} → ${w.to} (${w.segments} segments)`);
    for (const p of n.problems) lines.push(`  DAMAGED commit-log manifest ${p}`);
  }
  return `${lines.join('\n')}\n`;
}
