// Makes a restore durable before it reports success. Files are written and renamed without a sync each (an fsync
// per file cost W2's 20,000 files more wall time than their download, bench/README.md Restore); at the end one
// syncfs(2) of DIR's file system (`sync -f DIR`) puts every restored file, rename and directory on disk. Where
// `sync -f` cannot be run, each restored file and the directories that received them are fsync'd instead.
// A crash before the end leaves files under their names possibly short: the restore never reported success, and
// a re-run (--force) keeps only files whose size and CRC32C match the manifest.
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { forEachLimit } from '../upload/pool.ts';
import { IncompleteError } from '../errors.ts';

/** Runs `sync -f dir`; rejects with the spawn error (code ENOENT when there is no sync), or its exit and stderr. */
export type SyncFileSystem = (dir: string, signal: AbortSignal) => Promise<void>;

export class SyncUnavailableError extends Error {
  override readonly name = 'SyncUnavailableError';
}

export const syncFileSystem: SyncFileSystem = async (dir, signal) => {
  const r = await execa('sync', ['-f', dir], { reject: false, cancelSignal: signal, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
  if (r.exitCode === 0) return;
  const stderr = String(r.stderr ?? '').trim();
  // No sync, or one without -f (an old or minimal userland): not a failure of the disk, so fsync file by file.
  if (r.code === 'ENOENT' || r.code === 'EACCES' || /unrecognized option|invalid option|unknown option|usage/i.test(stderr)) {
    throw new SyncUnavailableError(stderr || r.shortMessage);
  }
  signal.throwIfAborted();
  throw new Error(stderr || `sync -f ${dir} exited ${r.exitCode ?? r.signal}`);
};

/**
 * Everything written under root by this restore (`written`: relative POSIX paths) on disk; an IncompleteError
 * (exit 4) saying why not, so that no success is reported over bytes that may still be only in memory.
 */
export async function makeRestoreDurable(
  root: string, written: readonly string[], concurrency: number, signal: AbortSignal, sync: SyncFileSystem = syncFileSystem,
): Promise<void> {
  if (written.length === 0) return;
  try {
    try {
      await sync(root, signal);
      return;
    } catch (err) {
      if (!(err instanceof SyncUnavailableError)) throw err;
    }
    await forEachLimit(written, concurrency, signal, (target) => fsyncPath(join(root, target)));
    await syncDirectories(root, written, concurrency, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new IncompleteError(`restore: the restored files could not be synced to disk in ${root} ` +
      `(${err instanceof Error ? err.message : String(err)}); run again with --force`, []);
  }
}

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
  await forEachLimit([...dirs], concurrency, signal, fsyncPath);
  signal.throwIfAborted();
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
