// One run per node at a time. The lock is a file created exclusively, holding the owner's pid; a lock whose
// owner is gone (crash, kill -9) is taken over, so a crashed run never blocks cron forever.
import { open, readFile, rm, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LockedError } from './errors.ts';

export interface Lock {
  release(): Promise<void>;
}

export interface LockDeps {
  readonly pid: number;
  readonly isAlive: (pid: number) => boolean;
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(path: string, what: string, deps: LockDeps): Promise<Lock> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${JSON.stringify({ pid: deps.pid, what, since: new Date().toISOString() })}\n`);
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await readOwner(path);
      if (owner && deps.isAlive(owner.pid)) {
        throw new LockedError(`another cass-backup-run (pid ${owner.pid}, ${owner.what}, since ${owner.since}) holds ${path}`);
      }
      await rm(path, { force: true }); // stale: its owner is gone
    }
  }
  throw new LockedError(`could not take the lock ${path}`);
}

async function readOwner(path: string): Promise<{ pid: number; what: string; since: string } | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; what?: unknown; since?: unknown };
    if (typeof parsed.pid !== 'number') return undefined;
    return { pid: parsed.pid, what: String(parsed.what ?? '?'), since: String(parsed.since ?? '?') };
  } catch {
    return undefined; // unreadable or torn: treat as stale
  }
}
