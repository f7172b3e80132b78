// The state directory is a per-host cache (DESIGN section 10): the bucket is the truth. A write to it that fails
// (a full or read-only disk) is warned about and the backup goes on; the journal follows the same rule itself.
import type { BackupContext } from './context.ts';

export async function cacheWrite(ctx: Pick<BackupContext, 'reporter' | 'stateDir'>, what: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    ctx.reporter.emit({ type: 'warning', message: `could not ${what} in ${ctx.stateDir}: ${err instanceof Error ? err.message : String(err)}` });
  }
}
