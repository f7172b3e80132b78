// Everything this tool knows about how Cassandra lays files out under a data directory. Pure: no I/O.
//
//   <ks>/<table>-<id>/<sstable files>                               live data
//   <ks>/<table>-<id>/.<index>/<sstable files>                      legacy secondary index (live)
//   <ks>/<table>-<id>/snapshots/<tag>/[.<index>/]<file>             `nodetool snapshot -t <tag>`
//   <ks>/<table>-<id>/backups/[.<index>/]<file>                     incremental_backups hard links
//
// Paths handled here are POSIX and relative to one data directory.
import { randomInt } from 'node:crypto';
import { UsageError } from '../errors.ts';

export const SNAPSHOTS_DIR = 'snapshots';
export const BACKUPS_DIR = 'backups';

export type DataArea = 'snapshot' | 'backup' | 'live';

export interface DataPath {
  readonly keyspace: string;
  /** The directory name as on disk, e.g. `users-c2517630e99a11f1a8c74f9ac66883fd`. */
  readonly tableDir: string;
  readonly table: string;
  /** 32 hex digits; undefined for the id-less directory names of very old versions. */
  readonly tableId: string | undefined;
  readonly area: DataArea;
  /** Only for area `snapshot`. */
  readonly tag?: string;
  /** Secondary-index sub-directory name including its leading dot, e.g. `.events_kind_idx`. */
  readonly indexDir?: string;
  readonly fileName: string;
}

// Keyspace and table names are CQL identifiers stored unquoted on disk: word characters only, max 48.
const NAME = /^\w{1,48}$/;
const TABLE_DIR = /^(\w{1,48})(?:-([0-9a-f]{32}))?$/;
const INDEX_DIR = /^\.\w+$/;

/** Parses a path relative to a data directory; undefined when it is not a file inside a table directory. */
export function parseDataPath(relPath: string): DataPath | undefined {
  const located = locateInTable(relPath);
  if (located === undefined) return undefined;
  const inner = parseIndexAndFile(located.inner);
  if (inner === undefined) return undefined;
  const { inner: _unused, ...where } = located;
  return { ...where, ...inner };
}

export interface TableLocation {
  readonly keyspace: string;
  readonly tableDir: string;
  readonly table: string;
  readonly tableId: string | undefined;
  readonly area: DataArea;
  readonly tag?: string;
  /** Path segments below the area root (`snapshots/<tag>/`, `backups/` or the table directory). */
  readonly inner: string[];
}

/**
 * Lenient form of parseDataPath: which table and area a path lies in, whatever the depth below the area root.
 * The enumerator uses it so that an unexpected file inside a snapshot is still backed up.
 */
export function locateInTable(relPath: string): TableLocation | undefined {
  const parts = relPath.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  const [keyspace, tableDir, ...rest] = parts;
  if (keyspace === undefined || tableDir === undefined || !NAME.test(keyspace)) return undefined;
  const table = TABLE_DIR.exec(tableDir);
  if (table === null || table[1] === undefined) return undefined;
  const area = splitArea(rest);
  return area && { keyspace, tableDir, table: table[1], tableId: table[2], ...area };
}

// `rest` is what follows `<ks>/<tableDir>/`.
function splitArea(rest: string[]): Pick<TableLocation, 'area' | 'tag' | 'inner'> | undefined {
  const [first, second] = rest;
  if (first === SNAPSHOTS_DIR && rest.length >= 3 && second !== undefined && isValidTag(second)) {
    return { area: 'snapshot', tag: second, inner: rest.slice(2) };
  }
  if (first === BACKUPS_DIR && rest.length >= 2) return { area: 'backup', inner: rest.slice(1) };
  if (first === SNAPSHOTS_DIR || first === BACKUPS_DIR || rest.length === 0) return undefined;
  return { area: 'live', inner: rest };
}

function parseIndexAndFile(parts: string[]): Pick<DataPath, 'indexDir' | 'fileName'> | undefined {
  if (parts.length === 1 && parts[0] !== undefined) return { fileName: parts[0] };
  const [indexDir, fileName] = parts;
  if (parts.length === 2 && indexDir !== undefined && fileName !== undefined && INDEX_DIR.test(indexDir)) {
    return { indexDir, fileName };
  }
  return undefined;
}

/** Globs (relative to a data directory) for every file of one snapshot, in every table the filters allow. */
export function snapshotGlobs(tag: string, filters: readonly TableFilter[] = []): string[] {
  const suffix = `${SNAPSHOTS_DIR}/${escapeGlob(validateTag(tag))}/**`;
  return tableGlobPrefixes(filters).map((prefix) => `${prefix}/${suffix}`);
}

/** Globs (relative to a data directory) for every incremental-backup file in the tables the filters allow. */
export function backupsGlobs(filters: readonly TableFilter[] = []): string[] {
  return tableGlobPrefixes(filters).map((prefix) => `${prefix}/${BACKUPS_DIR}/**`);
}

/**
 * Globs for the directories above the files of snapshotGlobs/backupsGlobs (keyspace, table, `snapshots` or
 * `backups`, the tag), so that the enumerator can see whether one of them is a symlink it would not descend.
 */
export function ancestorGlobs(area: 'snapshot' | 'backup', filters: readonly TableFilter[] = [], tag?: string): string[] {
  return tableGlobPrefixes(filters).flatMap((prefix) => {
    const [keyspace = '*'] = prefix.split('/');
    const areaDir = `${prefix}/${area === 'snapshot' ? SNAPSHOTS_DIR : BACKUPS_DIR}`;
    const levels = [keyspace, prefix, areaDir];
    return area === 'snapshot' && tag !== undefined ? [...levels, `${areaDir}/${escapeGlob(validateTag(tag))}`] : levels;
  });
}

/** Keyspace or table (`ks`, `ks.table`) restriction; parse with parseTableFilter. */
export interface TableFilter {
  readonly keyspace: string;
  readonly table?: string;
}

/** Parses `ks` or `ks.table` (as nodetool's `-kt` takes them); UsageError otherwise. */
export function parseTableFilter(spec: string): TableFilter {
  const [keyspace, table, extra] = spec.split('.');
  if (keyspace === undefined || !NAME.test(keyspace) || extra !== undefined || (table !== undefined && !NAME.test(table))) {
    throw new UsageError(`invalid keyspace or keyspace.table: '${spec}'`);
  }
  return table === undefined ? { keyspace } : { keyspace, table };
}

/** True when a parsed path belongs to one of the filters (no filters: everything). */
export function matchesFilters(path: Pick<DataPath, 'keyspace' | 'table'>, filters: readonly TableFilter[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => f.keyspace === path.keyspace && (f.table === undefined || f.table === path.table));
}

// Names are validated word characters, so they need no escaping. Table names cannot contain `-`, so `t-*` is
// table t alone; the bare `t` covers id-less directories of old versions.
function tableGlobPrefixes(filters: readonly TableFilter[]): string[] {
  if (filters.length === 0) return ['*/*'];
  return filters.map((f) => `${f.keyspace}/${f.table === undefined ? '*' : `{${f.table},${f.table}-*}`}`);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]{}()!+@\\]/g, (c) => `\\${c}`);
}

// Letters, digits and a few separators: safe as a directory name, an object-key segment and a shell word.
// The first character may not be `.` (hidden, `.`/`..`) nor `-` (would read as an option).
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._:+=@-]{0,199}$/;

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Returns the tag, or throws UsageError saying what is allowed. */
export function validateTag(tag: string): string {
  if (!isValidTag(tag)) {
    throw new UsageError(
      `invalid snapshot tag '${tag}': use 1-200 letters, digits or . _ : + = @ -, not starting with . or -`,
    );
  }
  return tag;
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A new snapshot tag, e.g. `cbr-20261126T130400Z-k3x9`: sorts by time as text, and the random suffix keeps two
 * runs in the same second apart. `random(n)` returns an integer in [0, n) (injected by tests).
 */
export function generateTag(date: Date, random: (n: number) => number = randomInt): string {
  const stamp = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  let suffix = '';
  for (let i = 0; i < 4; i += 1) suffix += BASE36[random(36)] ?? '0';
  return `cbr-${stamp}-${suffix}`;
}

export interface SSTableName {
  /** Two-letter format version, e.g. `nb` (4.x/5.0 BIG), `oa` (5.0 BIG), `da` (BTI). */
  readonly version: string;
  /** Integer generation (`1`) or UUID-based identifier (`3fw2_0tj4_46w3k2cpidnirvjy7k`). */
  readonly generation: string;
  /** `big` or `bti`. */
  readonly format: string;
  /** What follows the format, e.g. `Data.db`, `TOC.txt`, `SAI+aa+idx+Meta.db`. */
  readonly component: string;
}

// The UUID-based identifier is a time UUID in base36, grouped 4_4_18.
const SSTABLE = /^([a-z]{2})-(\d+|[0-9a-z]{4}_[0-9a-z]{4}_[0-9a-z]{18})-([a-z]+)-(.+)$/;

/** Parses an SSTable component file name; undefined for anything else (manifest.json, schema.cql, …). */
export function parseSSTableName(fileName: string): SSTableName | undefined {
  const m = SSTABLE.exec(fileName);
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined || m[4] === undefined) {
    return undefined;
  }
  return { version: m[1], generation: m[2], format: m[3], component: m[4] };
}

/**
 * Where a file sits within its table, whichever snapshot or backups/ directory it was found in:
 * `ks/t-<id>/snapshots/<tag>/.idx/nb-1-big-Data.db` and `ks/t-<id>/backups/.idx/nb-1-big-Data.db` both give
 * `ks/t-<id>/.idx/nb-1-big-Data.db`. Hard links of one SSTable share it. undefined outside a table directory.
 */
export function tableRelativePath(relPath: string): string | undefined {
  const where = locateInTable(relPath);
  return where && [where.keyspace, where.tableDir, ...where.inner].join('/');
}
