// What a restore writes where. Pure: manifests in, a list of (object → relative target path) out.
//
//   <ks>/<table>-<id>/snapshots/<tag>/[.<index>/]<sstable file>   →  <ks>/<table>-<id>/[.<index>/]<file>
//   <ks>/<table>-<id>/backups/[.<index>/]<sstable file>           →  <ks>/<table>-<id>/[.<index>/]<file>
//   <ks>/<table>-<id>/snapshots/<tag>/manifest.json, schema.cql   →  .cass-backup-run/tables/<ks>/<table>-<id>/…
//
// Only SSTable components go into the table directory, so that `nodetool import` and sstableloader see nothing
// but SSTables there; Cassandra's snapshot manifest and the table's CREATE statement are kept aside (under a
// name that cannot be a keyspace) for the operator.
import { CATALOG_DIR, assertSafeRelativePath } from '../catalog/keys.ts';
import type { Manifest, ManifestFile } from '../catalog/manifest.ts';
import { locateInTable, matchesFilters, parseSSTableName, type TableFilter } from '../cassandra/layout.ts';
import { byStartThenTag } from '../catalog/select.ts';
import { UsageError } from '../errors.ts';

export const META_DIR = `${CATALOG_DIR}/tables`;

export interface TableRef {
  readonly keyspace: string;
  readonly table: string;
  /** Directory name as in the backup, e.g. `users-c2517630e99a11f1a8c74f9ac66883fd`. */
  readonly tableDir: string;
}

export interface RestoreItem {
  readonly file: ManifestFile;
  /** POSIX path relative to the restore directory. */
  readonly target: string;
  readonly table: TableRef;
  /** Part of the table's data (an SSTable component), as opposed to metadata kept aside. */
  readonly data: boolean;
  /** The manifest the entry comes from. */
  readonly from: { readonly kind: Manifest['kind']; readonly tag: string };
}

export interface RestorePlan {
  readonly items: readonly RestoreItem[];
  /** Entries naming a file already planned with the same bytes (an SSTable listed by several manifests). */
  readonly duplicates: number;
  /** The same target with different bytes: the backups disagree, and no choice would be safe. */
  readonly conflicts: readonly string[];
  /** Manifest paths outside Cassandra's table layout: nothing sensible to restore them to. */
  readonly unplaceable: readonly string[];
  /** Tags of the incremental backups the `--until` window selected, oldest first (whether or not they add a file). */
  readonly incrementals: readonly string[];
  /**
   * Components of an SSTable the snapshot also holds (same Data.db bytes) that an incremental backup has in an older
   * version: Cassandra rewrites Statistics.db and Summary.db in place (repair, level changes), while backups/ keeps
   * the hard link of the first version. The snapshot's, the later state of that same SSTable, are restored.
   */
  readonly superseded: number;
}

export interface PlanInput {
  readonly snapshot: Manifest;
  /** Incremental manifests to draw from (`--until`); empty without it. */
  readonly incrementals: readonly Manifest[];
  readonly filters: readonly TableFilter[];
  /** With `--until`: the time whose incremental backups are applied (see `incrementalsInWindow`). */
  readonly untilMs: number | undefined;
}

export function planRestore(input: PlanInput): RestorePlan {
  const planned = new Map<string, RestoreItem>();
  const conflicts: string[] = [];
  const unplaceable: string[] = [];
  let duplicates = 0;
  let superseded = 0;
  const incrementals = input.untilMs === undefined ? [] : incrementalsInWindow(input.snapshot, input.incrementals, input.untilMs);
  const fromSnapshot = new Map<string, RestoreItem>();
  // The snapshot's entries first, then the incrementals' oldest first: a file several list is fetched once.
  for (const manifest of [input.snapshot, ...incrementals]) {
    const items: RestoreItem[] = [];
    for (const file of manifest.files) {
      const item = placeEntry(manifest, file);
      if (item === undefined) unplaceable.push(`${manifest.tag}: ${file.path}`);
      else if (matchesFilters(item.table, input.filters)) items.push(item);
    }
    const here = new Map(items.map((i) => [i.target, i]));
    for (const item of items) {
      if (manifest === input.snapshot) fromSnapshot.set(item.target, item);
      const earlier = planned.get(item.target);
      if (earlier === undefined) planned.set(item.target, item);
      else if (sameBytes(earlier.file, item.file)) duplicates += 1;
      else if (earlier.from.kind === 'snapshot' && sameSSTable(item.target, fromSnapshot, here)) superseded += 1;
      else conflicts.push(describeConflict(earlier, item));
    }
  }
  return { items: [...planned.values()], duplicates, conflicts, unplaceable, incrementals: incrementals.map((m) => m.tag), superseded };
}

/** Whether the SSTable a component belongs to is the same in the snapshot and in a backup: same Data.db bytes. */
function sameSSTable(target: string, snapshot: ReadonlyMap<string, RestoreItem>, backup: ReadonlyMap<string, RestoreItem>): boolean {
  const slash = target.lastIndexOf('/');
  const name = parseSSTableName(target.slice(slash + 1));
  if (name === undefined || name.component === 'Data.db') return false;
  const data = `${target.slice(0, slash + 1)}${name.version}-${name.generation}-${name.format}-Data.db`;
  const a = snapshot.get(data)?.file;
  const b = backup.get(data)?.file;
  return a !== undefined && b !== undefined && sameBytes(a, b);
}

/**
 * The incremental backups `--until` applies to a snapshot: each that finished after the snapshot started (it
 * may hold SSTables flushed after the snapshot) and started no later than `untilMs`; oldest first. Chosen by
 * the backup that stored the files, never by file mtimes: an SSTable's mtime says nothing reliable about when
 * its data was written (`nodetool import`, `cp -p` and clock skew all leave older ones).
 */
export function incrementalsInWindow(snapshot: Manifest, incrementals: readonly Manifest[], untilMs: number): Manifest[] {
  const snapshotStartMs = timeOf(snapshot, 'startedAt');
  return incrementals
    .filter((m) => m.kind === 'incremental' && timeOf(m, 'finishedAt') > snapshotStartMs && timeOf(m, 'startedAt') <= untilMs)
    .sort(byStartThenTag);
}

/**
 * Whether a backup known only by what could be salvaged from its damaged manifest might belong to the window
 * `incrementalsInWindow` takes: yes unless it is known to be of another kind, or known to lie outside.
 */
export function mayBeInWindow(snapshot: Manifest, header: { kind?: string | undefined; startedAt?: string | undefined;
  finishedAt?: string | undefined }, untilMs: number): boolean {
  if (header.kind !== undefined && header.kind !== 'incremental') return false;
  const started = Date.parse(header.startedAt ?? '');
  const finished = Date.parse(header.finishedAt ?? '');
  if (Number.isFinite(finished) && finished <= timeOf(snapshot, 'startedAt')) return false;
  if (Number.isFinite(started) && started > untilMs) return false;
  return true;
}

/** A manifest time; one that cannot be read is an error, never a silent exclusion. */
function timeOf(m: Manifest, field: 'startedAt' | 'finishedAt'): number {
  const ms = Date.parse(m[field]);
  if (!Number.isFinite(ms)) throw new UsageError(`backup ${m.tag} of node ${m.nodeId} has no readable ${field} (${JSON.stringify(m[field])})`);
  return ms;
}

/** Where one manifest entry goes; undefined when its path is not in the area its manifest's kind implies. */
export function placeEntry(manifest: Pick<Manifest, 'kind' | 'tag'>, file: ManifestFile): RestoreItem | undefined {
  const loc = locateInTable(file.path);
  const area = manifest.kind === 'snapshot' ? 'snapshot' : 'backup';
  const fileName = loc?.inner.at(-1);
  if (loc === undefined || loc.area !== area || fileName === undefined) return undefined;
  const table = { keyspace: loc.keyspace, table: loc.table, tableDir: loc.tableDir };
  const data = parseSSTableName(fileName) !== undefined;
  const base = data ? [loc.keyspace, loc.tableDir] : [META_DIR, loc.keyspace, loc.tableDir];
  const target = [...base, ...loc.inner].join('/');
  assertSafeRelativePath(target); // locateInTable refused `..` and empty segments; this is the last word
  return { file, target, table, data, from: { kind: manifest.kind, tag: manifest.tag } };
}

function sameBytes(a: ManifestFile, b: ManifestFile): boolean {
  return a.size === b.size && a.crc32c === b.crc32c;
}

function describeConflict(earlier: RestoreItem, later: RestoreItem): string {
  const side = (i: RestoreItem): string =>
    `${i.from.kind} ${i.from.tag} has ${i.file.size} bytes, crc32c ${i.file.crc32c} (${i.file.key})`;
  return `${later.target}: ${side(earlier)}; ${side(later)}`;
}

export interface TableSummary extends TableRef {
  /** Relative to the restore directory. */
  readonly path: string;
  readonly files: number;
  readonly bytes: number;
  /** Relative path of the table's CREATE statement from the snapshot, when it had one. */
  readonly schema: string | undefined;
}

/** The restored tables, in name order: what the next-steps text and the JSON result are about. */
export function summarizeTables(items: readonly RestoreItem[]): TableSummary[] {
  const byDir = new Map<string, TableSummary>();
  for (const item of items) {
    const id = `${item.table.keyspace}/${item.table.tableDir}`;
    const t = byDir.get(id) ?? { ...item.table, path: id, files: 0, bytes: 0, schema: undefined };
    const isSchema = !item.data && item.target === `${META_DIR}/${id}/schema.cql`;
    byDir.set(id, {
      ...t,
      files: t.files + (item.data ? 1 : 0),
      bytes: t.bytes + (item.data ? item.file.size : 0),
      schema: isSchema ? item.target : t.schema,
    });
  }
  return [...byDir.values()].filter((t) => t.files > 0).sort((a, b) => a.path.localeCompare(b.path));
}
