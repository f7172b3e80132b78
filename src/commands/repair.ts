// `repair [nodetool repair args…]`: run the repair, then upload the incremental backups it left in backups/.
// A failed repair still uploads what landed, then exits with nodetool's failure.
import { NodetoolError } from '../errors.ts';
import { assertDataDirsHaveTables, loadCatalog, withBackupLease, type BackupRunResult } from './backup-run.ts';
import type { RunLease } from '../catalog/run-lease.ts';
import type { BackupContext } from './context.ts';
import { uploadBackups } from './incremental.ts';

export interface RepairInput {
  readonly nodetoolArgs: readonly string[];
  readonly deleteUploaded: boolean;
}

export async function repairCommand(input: RepairInput, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const lock = await ctx.lock('repair');
  try {
    const startedAt = ctx.now();
    await assertDataDirsHaveTables(ctx);
    if (ctx.dryRun) {
      ctx.reporter.emit({ type: 'info', message: `dry run: would run nodetool repair ${input.nodetoolArgs.join(' ')} and upload backups/ to ${ctx.backend.description}` });
      return undefined;
    }
    return await withBackupLease(ctx, 'repair', (lease) => repairAnnounced(input, startedAt, lease, ctx));
  } finally {
    await lock.release();
  }
}

async function repairAnnounced(input: RepairInput, startedAt: Date, lease: RunLease, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const catalog = await loadCatalog(ctx);
  const repairError = await ctx.nodetool.repair(input.nodetoolArgs).then(() => undefined, (err: unknown) => {
    if (err instanceof NodetoolError && err.exitCode !== undefined) return err;
    throw err; // nodetool not found or killed: nothing was repaired, nothing new to upload
  });
  const result = await uploadBackups(
    { command: 'repair', startedAt, catalog, lease, deleteUploaded: input.deleteUploaded,
      nodetool: { command: ['nodetool', 'repair', ...input.nodetoolArgs], exitCode: repairError?.exitCode ?? 0 } },
    ctx,
  );
  if (repairError) {
    const uploaded = result ? `; the ${result.manifest.totals.files} files in backups/ were uploaded` : '';
    throw new NodetoolError(`${repairError.message}${uploaded}`, {
      ...(repairError.exitCode !== undefined ? { exitCode: repairError.exitCode } : {}), stderrTail: repairError.stderrTail, cause: repairError,
    });
  }
  return result;
}
