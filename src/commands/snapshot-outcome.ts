// What a snapshot's upload leaves to do with the snapshot. After a failure: resume it when it is as it was
// enumerated, take a new one when files of it vanished or changed, and only that when someone removed it meanwhile
// (nodetool clearsnapshot from another shell). After a complete upload: clear it, and say so when that fails.
import { CleanupIncompleteError, IncompleteError } from '../errors.ts';
import type { LocalFile } from '../domain.ts';
import type { RecordedFile, SnapshotRecord } from '../snapshot-registry.ts';
import { journalPath } from '../state-dir.ts';
import type { BackupRunResult } from './backup-run.ts';
import type { BackupContext } from './context.ts';
import { cacheWrite } from './state-cache.ts';

/**
 * Clears the uploaded snapshot. The backup is complete either way: a snapshot that could not be cleared is the
 * returned error (exit 5), for the caller to throw once the summary is out.
 */
export async function clearUploaded(tag: string, result: BackupRunResult, ctx: BackupContext): Promise<CleanupIncompleteError | undefined> {
  try {
    await ctx.nodetool.clearSnapshot(tag);
  } catch (err) {
    // Its registry entry stays, so that a later run clears it once stale.
    return new CleanupIncompleteError(`snapshot backup ${tag} is complete (manifest ${result.manifestKey}), but the snapshot ` +
      `could not be cleared (${errMessage(err)}); it holds disk space until cleared: nodetool clearsnapshot -t ${tag}`,
      result.manifestKey, { cause: err });
  }
  // The registry only helps clear snapshots left behind; this one is gone, whatever the file says.
  await cacheWrite(ctx, `remove snapshot "${tag}" from the snapshot registry`, () => ctx.registry.remove(tag));
  return undefined;
}

/**
 * The error of a failed upload, saying what can be done with the snapshot: resume it (it is as it was), take a new
 * one because files of it are gone or changed, or, when someone cleared it meanwhile, only take a new one.
 */
export async function uploadFailure(err: unknown, tag: string, record: SnapshotRecord, ctx: BackupContext): Promise<IncompleteError> {
  const failures = err instanceof IncompleteError ? err.failures : [];
  const message = err instanceof IncompleteError ? err.message : `${errMessage(err)}.`;
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

export function recordOf(dataDirs: readonly string[], files: readonly LocalFile[]): SnapshotRecord {
  return {
    dataDirs: [...dataDirs],
    files: files.map((f) => ({ relPath: f.relPath, dataDir: dataDirs.indexOf(f.dataDir), size: f.size, mtimeMs: f.mtimeMs, ino: f.ino })),
  };
}

/** How the snapshot's files differ from the record, or undefined when they do not. */
export function describeChange(then: SnapshotRecord, now: SnapshotRecord): string | undefined {
  const id = (f: RecordedFile) => `${f.dataDir}\0${f.relPath}\0${f.size}\0${f.mtimeMs}\0${f.ino}`;
  const nowIds = new Set(now.files.map(id));
  const thenIds = new Set(then.files.map(id));
  const missing = then.files.filter((f) => !nowIds.has(id(f))).map((f) => f.relPath);
  const extra = now.files.filter((f) => !thenIds.has(id(f))).map((f) => f.relPath);
  if (missing.length === 0 && extra.length === 0) return undefined;
  const first = [...missing.map((p) => `missing or changed: ${p}`), ...extra.map((p) => `not in it then: ${p}`)].slice(0, 3).join('; ');
  return `${missing.length} file(s) missing or changed, ${extra.length} new; ${first}`;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
