// Makes a restore's renames durable: each file is fsync'd before its rename (download.ts); the directories that
// received them are fsync'd here, once each at the end, instead of once per file, before the restore reports
// success. A failure to sync is an incomplete restore, never a silent success.
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { forEachLimit } from '../upload/pool.ts';

/** Syncs root and every directory on the way to each target (relative POSIX paths under root). */
export async function syncDirectories(root: string, targets: Iterable<string>, concurrency: number, signal: AbortSignal): Promise<void> {
  const dirs = new Set<string>([root]);
  for (const target of targets) {
    // Parents too: a directory created by this restore is itself an entry of its parent.
    for (let d = dirname(target); d !== '.' && d !== '/' && d !== ''; d = dirname(d)) {
      const full = join(root, d);
      if (dirs.has(full)) break;
      dirs.add(full);
    }
  }
  await forEachLimit([...dirs], concurrency, signal, async (dir) => {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
  signal.throwIfAborted();
}
