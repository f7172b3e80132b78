// `incremental`: upload what incremental_backups left in backups/ (no nodetool call unless --flush), and
// optionally remove each local hard link once the manifest that references it is stored.
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Manifest } from '../catalog/manifest.ts';
import { CleanupIncompleteError } from '../errors.ts';
import { assertDataDirsHaveTables, emitSummary, loadCatalog, runBackup, withBackupLease, type BackupRunResult, type NodeCatalog } from './backup-run.ts';
import type { RunLease } from '../catalog/run-lease.ts';
import type { BackupContext } from './context.ts';

export interface IncrementalInput {
  readonly deleteUploaded: boolean;
  /** Run `nodetool flush` first so that recent writes reach backups/. */
  readonly flush: boolean;
}

export async function incrementalCommand(input: IncrementalInput, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const lock = await ctx.lock('incremental');
  try {
    const startedAt = ctx.now();
    await assertDataDirsHaveTables(ctx);
    if (ctx.dryRun) return await dryRun(ctx);
    return await withBackupLease(ctx, 'incremental', async (lease) => {
      const catalog = await loadCatalog(ctx);
      if (input.flush) await ctx.nodetool.flush();
      return uploadBackups({ command: 'incremental', startedAt, catalog, lease, deleteUploaded: input.deleteUploaded }, ctx);
    });
  } finally {
    await lock.release();
  }
}

export interface UploadBackupsInput {
  readonly command: 'incremental' | 'repair';
  readonly startedAt: Date;
  readonly catalog: NodeCatalog;
  readonly lease: RunLease;
  readonly deleteUploaded: boolean;
  readonly nodetool?: { readonly command: readonly string[]; readonly exitCode: number };
}

/** Shared by `incremental` and `repair`. Returns undefined when backups/ holds nothing. */
export async function uploadBackups(input: UploadBackupsInput, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const enumerated = await ctx.enumerate.backups(ctx.dataDirs);
  if (enumerated.files.length === 0) {
    ctx.reporter.emit({ type: 'info', message: `no files in backups/ under ${ctx.dataDirs.join(', ')}; nothing to upload` });
    return undefined;
  }
  const tag = incrementalTag(input.command, input.startedAt);
  const cassandra = input.command === 'repair' ? ctx.nodetool.info() : clusterFacts(ctx);
  const result = await runBackup(
    { command: input.command, kind: 'incremental', tag, files: enumerated.files, startedAt: input.startedAt, cassandra,
      ...(input.nodetool ? { nodetool: input.nodetool } : {}), journalName: 'incremental', vanishedIsFailure: false },
    input.catalog, input.lease, ctx,
  );
  const notRemoved = input.deleteUploaded ? await deleteConfirmed(result.manifest, ctx) : [];
  emitSummary(ctx, input.command, tag, input.startedAt, result);
  if (notRemoved.length > 0) throw notRemovedError(tag, result, notRemoved);
  return result;
}

function clusterFacts(ctx: BackupContext): { clusterName?: string } {
  return ctx.clusterNameFromYaml !== undefined ? { clusterName: ctx.clusterNameFromYaml } : {};
}

/** Unique and sortable by time, like generated snapshot tags. */
export function incrementalTag(command: string, at: Date, random = randomBytes(2).toString('hex')): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${command === 'repair' ? 'repair' : 'incr'}-${stamp}-${random}`;
}

interface NotRemoved {
  readonly path: string;
  readonly code: string;
}

/**
 * Removes local hard links whose bytes the stored manifest now references, and only if unchanged since. A file that
 * cannot be removed (e.g. EACCES for a user that does not own backups/) is reported, the others still removed.
 */
async function deleteConfirmed(manifest: Manifest, ctx: BackupContext): Promise<NotRemoved[]> {
  let removed = 0;
  const notRemoved: NotRemoved[] = [];
  for (const entry of manifest.files) {
    const dataDir = manifest.dataDirs[entry.dataDir];
    if (dataDir === undefined) continue;
    const absPath = join(dataDir, entry.path);
    const now = await ctx.files.identity(absPath);
    if (!now || now.size !== entry.size || now.mtimeMs !== entry.mtimeMs || now.ino !== entry.ino) continue;
    try {
      await ctx.files.remove(absPath);
      removed++;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code !== 'ENOENT') notRemoved.push({ path: absPath, code: typeof code === 'string' ? code : String(err) });
    }
  }
  ctx.reporter.emit({ type: 'info', message: `removed ${removed} uploaded files from backups/ (--delete-uploaded)` });
  return notRemoved;
}

/** Exit 5: the backup is complete; what is left in backups/ is in it, so it may go whenever someone can remove it. */
function notRemovedError(tag: string, result: BackupRunResult, notRemoved: readonly NotRemoved[]): CleanupIncompleteError {
  const first = notRemoved[0]!;
  const who = notRemoved.some((f) => f.code === 'EACCES' || f.code === 'EPERM')
    ? 'run --delete-uploaded as the user that owns the data directories (the one Cassandra runs as), or remove them by hand'
    : 'remove them by hand';
  return new CleanupIncompleteError(
    `incremental backup ${tag} is complete (manifest ${result.manifestKey}), but ${notRemoved.length} of ` +
    `${result.manifest.files.length} uploaded files could not be removed from backups/ (first: ${first.path}: ${first.code}); ` +
    `they are in this backup: ${who}`, result.manifestKey);
}

async function dryRun(ctx: BackupContext): Promise<undefined> {
  const { files } = await ctx.enumerate.backups(ctx.dataDirs);
  const bytes = files.reduce((n, f) => n + f.size, 0);
  ctx.reporter.emit({ type: 'info', message: `dry run: would upload up to ${files.length} files (${bytes} bytes) from backups/ to ${ctx.backend.description}` });
  return undefined;
}
