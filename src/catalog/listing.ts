// What `list` shows: backups grouped by tag across nodes, so that one tag taken on every node reads as one
// cluster backup. Pure.
import type { Manifest } from './manifest.ts';
import { formatColumns } from '../output/columns.ts';

export interface BackupRow {
  readonly tag: string;
  /** `snapshot`, `incremental`, or `mixed` when nodes disagree about the kind of one tag. */
  readonly kind: string;
  /** Earliest start among the nodes; undefined for an unfinished run known only from the local journal. */
  readonly startedAt: string | undefined;
  readonly finishedAt: string | undefined;
  readonly nodes: readonly string[];
  /** True when every node id found under the destination has this tag (only meaningful with --all-nodes). */
  readonly everyNode: boolean;
  readonly files: number;
  readonly bytes: number;
  /** A manifest exists for every node listed. Unfinished runs (journal, no manifest) are not complete. */
  readonly complete: boolean;
  /** Why a manifest that exists cannot be read: such a backup is listed, never hidden, and never complete. */
  readonly damaged?: string;
}

/** A manifest the store holds but this version rejects. */
export interface DamagedRow {
  readonly nodeId: string;
  readonly tag: string;
  readonly kind: string | undefined;
  readonly startedAt: string | undefined;
  readonly error: string;
}

/** A run seen in this node's local journal that has no manifest yet: in progress, or failed and resumable. */
export interface UnfinishedRun {
  readonly nodeId: string;
  readonly tag: string;
  readonly kind: 'snapshot' | 'incremental';
  readonly files: number;
  readonly bytes: number;
}

/** What a row is built from: a manifest, or its summary (summaries.ts). */
export type ListedManifest = Pick<Manifest, 'nodeId' | 'tag' | 'kind' | 'startedAt' | 'finishedAt' | 'totals'>;

export function groupByTag(
  manifests: readonly ListedManifest[], allNodeIds: readonly string[], unfinished: readonly UnfinishedRun[] = [],
  damaged: readonly DamagedRow[] = [],
): BackupRow[] {
  const byTag = new Map<string, ListedManifest[]>();
  for (const m of manifests) byTag.set(m.tag, [...(byTag.get(m.tag) ?? []), m]);
  const rows = [...byTag.entries()].map(([tag, group]) => rowOf(tag, group, allNodeIds));
  for (const u of unfinished) if (!byTag.has(u.tag)) rows.push(unfinishedRow(u, allNodeIds));
  for (const d of damaged) rows.push(damagedRow(d, allNodeIds));
  return rows.sort(byTime);
}

function damagedRow(d: DamagedRow, allNodeIds: readonly string[]): BackupRow {
  return {
    tag: d.tag, kind: d.kind ?? '?', startedAt: d.startedAt, finishedAt: undefined, nodes: [d.nodeId],
    everyNode: allNodeIds.every((id) => id === d.nodeId), files: 0, bytes: 0, complete: false, damaged: d.error,
  };
}

function rowOf(tag: string, group: readonly ListedManifest[], allNodeIds: readonly string[]): BackupRow {
  const kinds = new Set(group.map((m) => m.kind));
  const nodes = [...new Set(group.map((m) => m.nodeId))].sort();
  return {
    tag,
    kind: kinds.size === 1 ? [...kinds][0] ?? 'mixed' : 'mixed',
    startedAt: group.map((m) => m.startedAt).sort()[0],
    finishedAt: group.map((m) => m.finishedAt).sort().at(-1),
    nodes,
    everyNode: allNodeIds.every((id) => nodes.includes(id)),
    files: sum(group.map((m) => m.totals.files)),
    bytes: sum(group.map((m) => m.totals.bytes)),
    complete: true,
  };
}

function unfinishedRow(u: UnfinishedRun, allNodeIds: readonly string[]): BackupRow {
  return {
    tag: u.tag, kind: u.kind, startedAt: undefined, finishedAt: undefined, nodes: [u.nodeId],
    everyNode: allNodeIds.every((id) => id === u.nodeId), files: u.files, bytes: u.bytes, complete: false,
  };
}

// Unfinished runs have no time; they go last, where the newest backups are.
function byTime(a: BackupRow, b: BackupRow): number {
  return (a.startedAt ?? '\uffff').localeCompare(b.startedAt ?? '\uffff') || a.tag.localeCompare(b.tag);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** A plain-text table, one backup per line, for a terminal. */
export function formatTable(rows: readonly BackupRow[], nodeCount: number, formatBytes: (n: number) => string): string {
  const header = ['TAG', 'KIND', 'STARTED', 'NODES', 'FILES', 'BYTES', 'COMPLETE'];
  const lines = rows.map((r) => [
    r.tag, r.kind, r.startedAt === undefined ? '-' : shortTime(r.startedAt), `${r.nodes.length}/${nodeCount}`,
    String(r.files), formatBytes(r.bytes),
    r.complete ? 'yes' : r.damaged !== undefined ? `no: DAMAGED manifest (${r.damaged})` : 'no (no manifest: in progress or failed)',
  ]);
  return formatColumns(header, lines);
}

function shortTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}
