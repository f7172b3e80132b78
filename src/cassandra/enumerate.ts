// Lists the files a nodetool command produced, after it finished: `snapshots/<tag>/**` or `backups/**` of every
// table in every data directory. The only globby user. Symlinks are never followed: a snapshot is hard links
// to immutable SSTables, so a symlink there is not Cassandra's and may point anywhere.
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { globby, globbyStream } from 'globby';
import type { GlobEntry } from 'globby';
import type { LocalFile } from '../domain.ts';
import { UsageError } from '../errors.ts';
import {
  SNAPSHOTS_DIR,
  ancestorGlobs,
  backupsGlobs,
  locateInTable,
  matchesFilters,
  parseTableFilter,
  snapshotGlobs,
  validateTag,
} from './layout.ts';
import type { TableFilter, TableLocation } from './layout.ts';
import { relativePathProblem } from '../catalog/keys.ts';

export interface Enumeration {
  /** Sorted by relPath. */
  readonly files: LocalFile[];
  /** Absolute paths that were listed but gone before they could be stat'ed (e.g. compaction, clearsnapshot). */
  readonly vanished: string[];
}

/** `filter`: keyspaces or keyspace.table names (as nodetool takes them); empty means all tables. */
export async function enumerateSnapshot(
  dataDirs: readonly string[],
  tag: string,
  filter: readonly string[] = [],
): Promise<Enumeration> {
  validateTag(tag);
  const filters = filter.map(parseTableFilter);
  const target: Target = { area: 'snapshot', tag, filters, globs: snapshotGlobs(tag, filters) };
  return enumerate(dataDirs, target);
}

export async function enumerateBackups(dataDirs: readonly string[], filter: readonly string[] = []): Promise<Enumeration> {
  const filters = filter.map(parseTableFilter);
  return enumerate(dataDirs, { area: 'backup', filters, globs: backupsGlobs(filters) });
}

/** True when `snapshots/<tag>/` exists in any table directory of any data directory. */
export async function snapshotExists(dataDirs: readonly string[], tag: string): Promise<boolean> {
  const pattern = `*/*/${SNAPSHOTS_DIR}/${validateTag(tag)}`;
  for (const dataDir of dataDirs) {
    const found = await globby(pattern, { cwd: dataDir, onlyDirectories: true, followSymbolicLinks: false, expandDirectories: false, dot: true });
    if (found.length > 0) return true;
  }
  return false;
}

/** True when some data directory holds at least one `<keyspace>/<table>-<id>` directory. */
export async function hasTableDirectories(dataDirs: readonly string[]): Promise<boolean> {
  for (const dataDir of dataDirs) {
    const found = await globby('*/*', { cwd: dataDir, onlyDirectories: true, followSymbolicLinks: false, expandDirectories: false });
    if (found.some((rel) => locateInTable(`${rel}/x`) !== undefined)) return true;
  }
  return false;
}

interface Target {
  readonly area: 'snapshot' | 'backup';
  readonly tag?: string;
  readonly filters: readonly TableFilter[];
  readonly globs: string[];
}

/** A listed file not yet stat'ed. */
export interface Candidate {
  readonly dataDir: string;
  readonly relPath: string;
}

async function enumerate(dataDirs: readonly string[], target: Target): Promise<Enumeration> {
  const candidates: Candidate[] = [];
  const refused: string[] = [];
  for (const dataDir of dataDirs) {
    const listed = await listDataDir(path.resolve(dataDir), target);
    candidates.push(...listed.candidates);
    refused.push(...listed.refused);
  }
  if (refused.length > 0) throw refusedError(refused);
  assertRepresentable(candidates);
  assertNoCollision(candidates);
  const { files, vanished, refused: late } = await statFiles(candidates);
  if (late.length > 0) throw refusedError(late);
  files.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  return { files, vanished };
}

// Also globs the directories above the target (keyspace, table, `snapshots`/`backups`, the tag): were one of
// them a symlink, an unfollowed glob would silently return nothing below it.
// Streamed: a node with hundreds of thousands of files never holds all of the walker's entries at once.
async function listDataDir(dataDir: string, target: Target): Promise<{ candidates: Candidate[]; refused: string[] }> {
  const entries = globbyStream([...target.globs, ...ancestorGlobs(target.area, target.filters, target.tag)], {
    cwd: dataDir,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    expandDirectories: false,
    objectMode: true,
  }) as AsyncIterable<GlobEntry>;
  const candidates: Candidate[] = [];
  const refused: string[] = [];
  const parents: string[] = [];
  for await (const entry of entries) {
    const inTarget = isInTarget(locateInTable(entry.path), target);
    if (entry.dirent.isSymbolicLink() || (inTarget && !entry.dirent.isFile() && !entry.dirent.isDirectory())) {
      refused.push(path.join(dataDir, entry.path));
    } else if (inTarget && entry.dirent.isFile()) {
      candidates.push({ dataDir, relPath: entry.path });
    }
    if (entry.dirent.isDirectory() && isInTarget(locateInTable(`${entry.path}/x`), target)) parents.push(entry.path);
  }
  return { candidates: [...candidates, ...(await unmatchedNames(dataDir, parents))], refused };
}

// The globs' `**` matches no name with a line break in it: such a file would be left out without a word. Every
// directory of the target is read once more for them, and they join the candidates (the path rule refuses them).
async function unmatchedNames(dataDir: string, dirs: readonly string[]): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const dir of dirs) {
    const names = await readdir(path.join(dataDir, dir)).catch(() => []);
    for (const name of names) if (/[\n\r\u2028\u2029]/.test(name)) out.push({ dataDir, relPath: `${dir}/${name}` });
  }
  return out;
}

function isInTarget(location: TableLocation | undefined, target: Target): boolean {
  if (location === undefined || location.area !== target.area) return false;
  if (target.tag !== undefined && location.tag !== target.tag) return false;
  return matchesFilters(location, target.filters);
}

// The catalog's one path rule, applied before anything is uploaded: a name a manifest reader would reject is
// reported and left in place, so that no backup is completed (and no local file deleted) without it.
function assertRepresentable(candidates: readonly Candidate[]): void {
  const bad = candidates.flatMap(({ dataDir, relPath }) => {
    const problem = relativePathProblem(relPath);
    return problem === undefined ? [] : [`${JSON.stringify(path.join(dataDir, relPath))} (${problem})`];
  });
  if (bad.length > 0) {
    throw new UsageError(`cannot back up files whose names a backup catalog cannot hold: ${summarize(bad)}; ` +
      `rename or remove them (nothing was uploaded or deleted)`);
  }
}

// SSTable names are unique per table across JBOD directories, so the same relPath twice means something is off;
// uploading both under one key would overwrite one with the other.
function assertNoCollision(candidates: readonly Candidate[]): void {
  const seen = new Map<string, string>();
  const collisions: string[] = [];
  for (const { dataDir, relPath } of candidates) {
    const other = seen.get(relPath);
    if (other !== undefined) collisions.push(`${relPath} (in ${other} and ${dataDir})`);
    else seen.set(relPath, dataDir);
  }
  if (collisions.length > 0) {
    throw new UsageError(`the same file exists in more than one data directory: ${summarize(collisions)}`);
  }
}

const STAT_BATCH = 256;

/** lstat's each candidate: regular files become LocalFiles, missing ones `vanished`, anything else `refused`. */
export async function statFiles(candidates: readonly Candidate[]): Promise<{ files: LocalFile[]; vanished: string[]; refused: string[] }> {
  const files: LocalFile[] = [];
  const vanished: string[] = [];
  const refused: string[] = [];
  for (let i = 0; i < candidates.length; i += STAT_BATCH) {
    const batch = candidates.slice(i, i + STAT_BATCH);
    const results = await Promise.all(batch.map(statOne));
    for (const result of results) {
      if (result.kind === 'file') files.push(result.file);
      else if (result.kind === 'vanished') vanished.push(result.absPath);
      else refused.push(result.absPath);
    }
  }
  return { files, vanished, refused };
}

/** A LocalFile whose absolute path is derived when asked: one string less per file held for the whole run. */
class EnumeratedFile implements LocalFile {
  readonly dataDir: string;
  readonly relPath: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;

  constructor(dataDir: string, relPath: string, size: number, mtimeMs: number, ino: number) {
    this.dataDir = dataDir;
    this.relPath = relPath;
    this.size = size;
    this.mtimeMs = mtimeMs;
    this.ino = ino;
  }

  get absPath(): string {
    return path.join(this.dataDir, this.relPath);
  }
}

type StatResult =
  | { kind: 'file'; file: LocalFile }
  | { kind: 'vanished'; absPath: string }
  | { kind: 'refused'; absPath: string };

// lstat, not stat: a file swapped for a symlink after the glob is refused rather than followed.
async function statOne({ dataDir, relPath }: Candidate): Promise<StatResult> {
  const absPath = path.join(dataDir, relPath);
  try {
    const st = await lstat(absPath);
    if (!st.isFile()) return { kind: 'refused', absPath };
    return { kind: 'file', file: new EnumeratedFile(dataDir, relPath, st.size, st.mtimeMs, st.ino) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'vanished', absPath };
    throw error;
  }
}

function refusedError(paths: readonly string[]): UsageError {
  return new UsageError(`refusing to back up symlinks or special files in Cassandra's directories: ${summarize(paths)}`);
}

function summarize(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}
