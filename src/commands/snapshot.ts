// `snapshot [nodetool snapshot args…]`: take the snapshot, upload it, write the manifest, clear the snapshot.
// On failure the snapshot is kept and the error says how to resume (`snapshot --resume TAG`) without a new one.
import { CleanupIncompleteError, IncompleteError, UsageError } from '../errors.ts';
import {
  assertDataDirsHaveTables, assertSameCassandraHost, assertTagIsNew, emitSummary, loadCatalog, runBackup, withBackupLease, type BackupRunResult,
} from './backup-run.ts';
import type { RunLease } from '../catalog/run-lease.ts';
import type { BackupContext } from './context.ts';
import { journalPath } from '../state-dir.ts';
import { tagFromSnapshotArgs } from './snapshot-args.ts';
import { resolve } from 'node:path';
import type { LocalFile } from '../domain.ts';
import type { RecordedFile, SnapshotRecord } from '../snapshot-registry.ts';
import { shellQuote } from '../config/resume-command.ts';

export interface SnapshotInput {
  readonly nodetoolArgs: readonly string[];
  /** Upload an existing snapshot made by an earlier run instead of taking one. */
  readonly resumeTag: string | undefined;
  readonly keepSnapshot: boolean;
}

export async function snapshotCommand(input: SnapshotInput, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const lock = await ctx.lock('snapshot');
  try {
    return await snapshotLocked(input, ctx);
  } finally {
    await lock.release();
  }
}

async function snapshotLocked(input: SnapshotInput, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const startedAt = ctx.now();
  const requestedTag = input.resumeTag ?? tagFromSnapshotArgs(input.nodetoolArgs);
  if (requestedTag !== undefined) await assertTagIsNew(ctx, requestedTag);
  await assertDataDirsHaveTables(ctx);
  if (ctx.dryRun) return dryRun(input, ctx);
  return withBackupLease(ctx, 'snapshot', (lease) => snapshotAnnounced(input, startedAt, lease, ctx));
}

async function snapshotAnnounced(input: SnapshotInput, startedAt: Date, lease: RunLease, ctx: BackupContext): Promise<BackupRunResult> {
  // nodetool info starts a JVM: it runs while the catalog loads, and the Cassandra host id it gives is checked
  // against the node id's backups before a snapshot is taken or anything is stored.
  const cassandra = ctx.nodetool.info();
  cassandra.catch(() => undefined); // awaited just below; this only keeps an early failure from being "unhandled"
  const catalog = await loadCatalog(ctx);
  const facts = await cassandra;
  if (facts.hostId !== undefined) {
    assertSameCassandraHost(ctx, catalog, facts.hostId);
    await lease.setCassandraHostId(facts.hostId);
  }
  await clearStaleSnapshots(ctx, input.resumeTag);
  const recorded = input.resumeTag !== undefined ? await resumable(input.resumeTag, ctx) : undefined;
  const taken = recorded !== undefined ? { tag: recorded.tag, args: ['snapshot', '-t', recorded.tag] } : await takeSnapshot(input, ctx);
  const tag = taken.tag;
  const enumerated = await ctx.enumerate.snapshot(ctx.dataDirs, tag);
  if (enumerated.files.length === 0) {
    throw new UsageError(`snapshot "${tag}" has no files under ${ctx.dataDirs.join(', ')}: check --data-dir / cassandra.yaml`);
  }
  const record = recordOf(ctx.dataDirs, enumerated.files);
  if (recorded?.record !== undefined) assertUnchanged(tag, recorded.record, record);
  else await ctx.registry.record(tag, record);
  const result = await runBackup(
    { command: 'snapshot', kind: 'snapshot', tag, files: enumerated.files, startedAt, cassandra,
      nodetool: { command: ['nodetool', ...taken.args], exitCode: 0 }, journalName: `snapshot-${tag}`, vanishedIsFailure: true },
    catalog, lease, ctx,
  ).catch(async (err: unknown) => {
    throw err instanceof UsageError ? err : await uploadFailure(err, tag, record, ctx);
  });
  const notCleared = input.keepSnapshot ? undefined : await clearUploaded(tag, ctx);
  emitSummary(ctx, 'snapshot', tag, startedAt, result);
  if (notCleared !== undefined) {
    throw new CleanupIncompleteError(`snapshot backup ${tag} is complete (manifest ${result.manifestKey}), but the snapshot ` +
      `could not be cleared (${errMessage(notCleared)}); it holds disk space until cleared: nodetool clearsnapshot -t ${tag}`,
      result.manifestKey, { cause: notCleared });
  }
  return result;
}

/** Clears the uploaded snapshot; what went wrong, if it could not be (the backup is complete either way). */
async function clearUploaded(tag: string, ctx: BackupContext): Promise<unknown> {
  try {
    await ctx.nodetool.clearSnapshot(tag);
  } catch (err) {
    return err; // its registry entry stays: a later run clears it once stale
  }
  // The registry only helps clear snapshots left behind; this one is gone, whatever the file says.
  await ctx.registry.remove(tag).catch((err: unknown) =>
    ctx.reporter.emit({ type: 'warning', message: `could not update the snapshot registry in ${ctx.stateDir}: ${errMessage(err)}` }));
  return undefined;
}

/**
 * The error of a failed upload, saying what can be done with the snapshot: resume it (it is as it was), take a new
 * one because files of it are gone or changed, or, when someone cleared it meanwhile, only take a new one.
 */
async function uploadFailure(err: unknown, tag: string, record: SnapshotRecord, ctx: BackupContext): Promise<IncompleteError> {
  const failures = err instanceof IncompleteError ? err.failures : [];
  const message = err instanceof IncompleteError ? err.message : `${errMessage(err)}; no manifest was written.`;
  const state = await snapshotStateNow(tag, record, ctx);
  if (state === 'gone') {
    await forgetSnapshot(tag, ctx);
    return new IncompleteError(`the snapshot "${tag}" was removed by someone else during the upload (nodetool clearsnapshot ` +
      'from another shell?): no manifest was written, and it cannot be resumed; take a new snapshot', [], { cause: err });
  }
  if (state === 'changed') {
    return new IncompleteError(`${message} Files of the snapshot "${tag}" were removed or changed during the upload, so it ` +
      `cannot be resumed: take a new snapshot (and clear this one: nodetool clearsnapshot -t ${tag})`, failures, { cause: err });
  }
  return new IncompleteError(`${message} The snapshot "${tag}" was kept; resume with: ${ctx.resumeCommand(tag)}`, failures, { cause: err });
}

/** Whether the snapshot is still what was enumerated; when that cannot be told, it is taken to be (a resume checks). */
async function snapshotStateNow(tag: string, then: SnapshotRecord, ctx: BackupContext): Promise<'intact' | 'changed' | 'gone'> {
  try {
    if (!(await ctx.enumerate.snapshotExists(ctx.dataDirs, tag))) return 'gone';
    const now = recordOf(ctx.dataDirs, (await ctx.enumerate.snapshot(ctx.dataDirs, tag)).files);
    return describeChange(then, now) === undefined ? 'intact' : 'changed';
  } catch {
    return 'intact';
  }
}

/** A snapshot that no longer exists needs neither its registry entry nor its journal (nothing can resume it). */
async function forgetSnapshot(tag: string, ctx: BackupContext): Promise<void> {
  await ctx.registry.remove(tag).catch(() => undefined);
  await ctx.files.remove(journalPath(ctx.stateDir, ctx.nodeId, `snapshot-${tag}`)).catch(() => undefined);
}

async function takeSnapshot(input: SnapshotInput, ctx: BackupContext): Promise<{ tag: string; args: string[] }> {
  await ctx.checkFreeSpace();
  const taken = await ctx.nodetool.snapshot(input.nodetoolArgs);
  await ctx.registry.add(taken.tag, ctx.now());
  return taken;
}

/** Snapshots this tool took and left behind (a crash, or a failure nobody resumed) pin disk space: clear old ones. */
async function clearStaleSnapshots(ctx: BackupContext, keep: string | undefined): Promise<void> {
  if (ctx.staleSnapshotAgeHours <= 0) return;
  const cutoff = new Date(ctx.now().getTime() - ctx.staleSnapshotAgeHours * 3_600_000);
  for (const tag of await ctx.registry.olderThan(cutoff)) {
    if (tag === keep) continue;
    if (await ctx.enumerate.snapshotExists(ctx.dataDirs, tag)) {
      await ctx.nodetool.clearSnapshot(tag);
      ctx.reporter.emit({ type: 'warning', message: `cleared stale snapshot "${tag}" that an earlier run took and did not clear (older than ${ctx.staleSnapshotAgeHours} h)` });
    }
    await ctx.files.remove(journalPath(ctx.stateDir, ctx.nodeId, `snapshot-${tag}`)).catch(() => undefined); // may not exist
    await ctx.registry.remove(tag);
  }
}

/**
 * A resume uploads the snapshot as it was first enumerated, from the same data directories: a resume that saw
 * only some of them would write a complete-looking manifest of a part, then clear the snapshot everywhere.
 */
async function resumable(tag: string, ctx: BackupContext): Promise<{ tag: string; record: SnapshotRecord | undefined }> {
  const record = await ctx.registry.recorded(tag);
  if (record === undefined) {
    // Not taken by this tool with this state directory: only the operator can say where all of it lies.
    if (!ctx.dataDirsGiven) {
      throw new UsageError(`no record of a snapshot "${tag}" taken by cass-backup-run with state directory ${ctx.stateDir}, so it is ` +
        `not known which data directories it spans: name every one of them with --data-dir, or use the state directory of the run that took it`);
    }
    if (!(await ctx.enumerate.snapshotExists(ctx.dataDirs, tag))) throw new UsageError(`no snapshot "${tag}" under ${ctx.dataDirs.join(', ')} to resume`);
    return { tag, record: undefined };
  }
  const now = ctx.dataDirs.map((d) => resolve(d));
  const then = record.dataDirs.map((d) => resolve(d));
  if (now.join('\0') !== then.join('\0')) {
    throw new UsageError(`snapshot "${tag}" was taken in the data directories ${then.join(', ')}, but this run has ${now.join(', ')}; ` +
      `resume it with the same ones: ${then.map((d) => `--data-dir ${shellQuote(d)}`).join(' ')}`);
  }
  if (!(await ctx.enumerate.snapshotExists(ctx.dataDirs, tag))) {
    throw new UsageError(`no snapshot "${tag}" under ${ctx.dataDirs.join(', ')} to resume (cleared since?)`);
  }
  return { tag, record };
}

function recordOf(dataDirs: readonly string[], files: readonly LocalFile[]): SnapshotRecord {
  return {
    dataDirs: [...dataDirs],
    files: files.map((f) => ({ relPath: f.relPath, dataDir: dataDirs.indexOf(f.dataDir), size: f.size, mtimeMs: f.mtimeMs, ino: f.ino })),
  };
}

/** The snapshot's files must be the ones first enumerated: a snapshot is immutable hard links. */
function assertUnchanged(tag: string, then: SnapshotRecord, now: SnapshotRecord): void {
  const change = describeChange(then, now);
  if (change === undefined) return;
  throw new IncompleteError(`snapshot "${tag}" is not what it was when its upload started (${change}); it cannot be resumed: take a new snapshot`);
}

/** How the snapshot's files differ from the record, or undefined when they do not. */
function describeChange(then: SnapshotRecord, now: SnapshotRecord): string | undefined {
  const id = (f: RecordedFile) => `${f.dataDir}\0${f.relPath}\0${f.size}\0${f.mtimeMs}\0${f.ino}`;
  const nowIds = new Set(now.files.map(id));
  const thenIds = new Set(then.files.map(id));
  const missing = then.files.filter((f) => !nowIds.has(id(f))).map((f) => f.relPath);
  const extra = now.files.filter((f) => !thenIds.has(id(f))).map((f) => f.relPath);
  if (missing.length === 0 && extra.length === 0) return undefined;
  const first = [...missing.map((p) => `missing or changed: ${p}`), ...extra.map((p) => `not in it then: ${p}`)].slice(0, 3).join('; ');
  return `${missing.length} file(s) missing or changed, ${extra.length} new; ${first}`;
}

function dryRun(input: SnapshotInput, ctx: BackupContext): undefined {
  const what = input.resumeTag !== undefined
    ? `upload the existing snapshot "${input.resumeTag}"`
    : `run: nodetool snapshot ${input.nodetoolArgs.join(' ')}`.trim();
  ctx.reporter.emit({ type: 'info', message: `dry run: would ${what}, upload it to ${ctx.backend.description}, then clear it` });
  return undefined;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
