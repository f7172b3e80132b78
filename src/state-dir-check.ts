// The state directory must be writable before anything is changed on the node: it holds the lock and the journal.
// The probe has data and is synced, so a directory on a full disk fails here (an empty file needs no block).
import { constants } from 'node:fs';
import { access, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './errors.ts';

const PROBE_BYTES = 8192;

export async function usableStateDir(dir: string, pid: number): Promise<string> {
  const probe = join(dir, `.write-test-${pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    const handle = await open(probe, 'w');
    try {
      await handle.write(Buffer.alloc(PROBE_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return dir;
  } catch (err) {
    throw stateDirError(dir, err);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

/** One line for a state directory that cannot take a write: full, or not ours. */
export function stateDirError(dir: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  return new UsageError(full
    ? `state directory ${dir} is full (${code}): free space there, or set --state-dir or CASS_BACKUP_STATE_DIR`
    : `state directory ${dir} is not writable (${code}); set --state-dir or CASS_BACKUP_STATE_DIR`, { cause: err });
}
