// A small restored file (its checked bytes already in memory) written to its temp name and made durable with one
// trip to the thread pool instead of six. open, write, futimes and close of a file of at most 1 MiB are page-cache
// operations, run here synchronously (and the rename after, in download.ts); only fsync, which waits for the disk, goes to the pool. Each
// pooled call costs two thread switches and their futex wake-ups, which on 2 cores shared with the store's
// server were more than the work itself: creating 20,000 files of 4-64 KiB took 13.7-17.3 s this way against
// 21.0-21.6 s with a promise per call, at half the user CPU (bench/README.md, "Restore", round 4).
import { closeSync, fsync, futimesSync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const fsyncAsync = promisify(fsync);

/**
 * Writes `data` to the fresh name `tmp` (`wx`: never through something that appeared under it), sets its mtime,
 * and waits until it is on disk. The caller renames it into place only after this resolves.
 */
export async function writeDurably(tmp: string, data: Uint8Array, mtime: Date): Promise<void> {
  const fd = openSync(tmp, 'wx');
  try {
    for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, done);
    futimesSync(fd, mtime, mtime);
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}
