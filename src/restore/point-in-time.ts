// The commit-log part of `restore --point-in-time TIME`: which archived segments reach TIME (refusing, with the
// gap named, when they do not), their download into the restore directory, and Cassandra's own restore settings
// (commitlog_archiving.properties: restore_command, restore_directories, restore_point_in_time, precision).
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../storage/backend.ts';
import { IncompleteError, UsageError } from '../errors.ts';
import { readCommitLogCatalog, type ArchivedSegment } from '../commitlog/catalog.ts';
import { coverageFor } from '../commitlog/coverage.ts';
import { restoreFile } from './download.ts';
import { targetTree } from './target-dir.ts';
import { forEachLimit } from '../upload/pool.ts';
import type { Manifest, ManifestFile } from '../catalog/manifest.ts';

/** Relative to the restore root: a name that cannot be a keyspace. */
export const COMMITLOG_RESTORE_DIR = '.cass-backup-run/commitlog';
export const PROPERTIES_FILE = '.cass-backup-run/commitlog_archiving.properties';

export interface PointInTimePlan {
  readonly untilMs: number;
  readonly segments: readonly ArchivedSegment[];
}

/** Cassandra's restore_point_in_time: "yyyy:MM:dd HH:mm:ss[.SSSSSS]" in GMT. */
export function cassandraRestorePoint(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-02T00:41:12.123Z
  const base = `${iso.slice(0, 10).replace(/-/g, ':')} ${iso.slice(11, 19)}`;
  const millis = ms % 1000;
  return millis === 0 ? base : `${base}.${String(millis).padStart(3, '0')}000`;
}

/** The newest snapshot that started no later than TIME (restore `latest --point-in-time TIME`). */
export function snapshotBefore(manifests: readonly Manifest[], untilMs: number): Manifest | undefined {
  return manifests.filter((m) => m.kind === 'snapshot' && Date.parse(m.startedAt) <= untilMs)
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || a.tag.localeCompare(b.tag)).at(-1);
}

/** Refuses (exit 4, naming the gap) unless the archived commit log covers the snapshot's start to TIME. */
export async function planPointInTime(backend: Backend, nodeId: string, snapshot: Manifest, untilMs: number, signal: AbortSignal):
  Promise<PointInTimePlan> {
  const snapshotMs = Date.parse(snapshot.startedAt);
  if (untilMs < snapshotMs) throw new UsageError(`--point-in-time is before snapshot ${snapshot.tag} started (${snapshot.startedAt}): pick an older snapshot`);
  const catalog = await readCommitLogCatalog(backend, nodeId, signal);
  if (catalog.problems.length > 0) {
    throw new IncompleteError(`restore --point-in-time: ${catalog.problems.length} commit-log manifest(s) cannot be read and may hold ` +
      'segments this restore needs; nothing was written', catalog.problems);
  }
  const coverage = coverageFor(catalog.segments, snapshotMs, untilMs);
  if (!coverage.ok) {
    throw new IncompleteError(`restore --point-in-time ${new Date(untilMs).toISOString()} from snapshot ${snapshot.tag}: no commit-log ` +
      `coverage: ${coverage.gap}; nothing was written`);
  }
  return { untilMs, segments: coverage.segments };
}

/** Cassandra splits the properties' commands and directory lists at spaces and commas. */
export function assertUsableRoot(root: string): void {
  if (/[\s,]/.test(root)) throw new UsageError(`--to ${JSON.stringify(root)}: Cassandra cannot read a restore directory whose path has spaces or commas`);
}

export interface CommitLogsRestored {
  readonly dir: string;
  readonly properties: string;
  readonly segments: number;
  readonly bytes: number;
  readonly failures: string[];
}

/** Downloads the segments (checked against their CRC32C) and writes the properties file last. */
export async function restoreCommitLogs(backend: Backend, plan: PointInTimePlan, root: string, reuse: boolean,
  opts: { readonly concurrency: number; readonly signal: AbortSignal }): Promise<CommitLogsRestored> {
  const failures: string[] = [];
  let bytes = 0;
  const tree = targetTree(root);
  await forEachLimit(plan.segments, opts.concurrency, opts.signal, async (s) => {
    const file: ManifestFile = { path: s.name, dataDir: 0, size: s.size, mtimeMs: Date.parse(s.archivedAt), ino: 0, key: s.key, crc32c: s.crc32c };
    try {
      await restoreFile(backend, { tree, target: `${COMMITLOG_RESTORE_DIR}/${s.name}`, file }, reuse, opts.signal);
      bytes += s.size;
    } catch (err) {
      if (opts.signal.aborted) throw err;
      failures.push(`${s.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  const dir = join(root, COMMITLOG_RESTORE_DIR);
  const properties = join(root, PROPERTIES_FILE);
  if (failures.length === 0) {
    const tmp = `${properties}.partial`;
    await writeFile(tmp, propertiesText(dir, plan.untilMs));
    await rename(tmp, properties);
  }
  return { dir, properties, segments: plan.segments.length, bytes, failures };
}

export function propertiesText(dir: string, untilMs: number): string {
  return [
    `# Written by cass-backup-run restore --point-in-time ${new Date(untilMs).toISOString()}.`,
    '# Add these lines to the node\'s conf/commitlog_archiving.properties (keep its archive_command line), start',
    '# Cassandra (it copies the segments into its commit log and replays them up to the time), then remove them again.',
    'restore_command=/bin/cp -f %from %to',
    `restore_directories=${dir}`,
    `restore_point_in_time=${cassandraRestorePoint(untilMs)}`,
    'precision=MICROSECONDS',
    '',
  ].join('\n');
}

/** The steps printed after a point-in-time restore. */
export function pointInTimeSteps(root: string, restored: CommitLogsRestored, untilMs: number): string {
  return [
    `Point in time ${new Date(untilMs).toISOString()} (restore_point_in_time=${cassandraRestorePoint(untilMs)} GMT): ` +
      `${restored.segments} commit-log segments in ${restored.dir}`,
    'Next steps on the node:',
    '  1. nodetool drain, then stop Cassandra',
    `  2. replace each restored table's SSTables in the data directory with those under ${root}/<ks>/<table-dir>/, ` +
      'and empty the commit-log directory (drain flushed it)',
    `  3. add the restore_* and precision lines of ${restored.properties} to conf/commitlog_archiving.properties (keep archive_command)`,
    '  4. start Cassandra: it copies the segments into its commit log and replays the mutations up to that time',
    '  5. remove those lines again, so that a later start does not replay the segments once more',
    '',
  ].join('\n');
}
