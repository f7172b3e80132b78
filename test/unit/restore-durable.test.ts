// How a restore is made durable before it reports success (restore/durable.ts): one `sync -f` of DIR's file
// system, fsync file by file only where `sync -f` cannot run, and any failure an IncompleteError (exit 4).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRestoreDurable, syncFileSystem, SyncUnavailableError, type SyncFileSystem } from '../../src/restore/durable.ts';
import { IncompleteError } from '../../src/errors.ts';

function restored(...paths: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'cbr-durable-'));
  for (const p of paths) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), 'x');
  }
  return root;
}

const signal = new AbortController().signal;

describe('makeRestoreDurable', () => {
  it('syncs the file system of DIR once, with the real `sync -f`', async () => {
    const root = restored('ks/t-1/a-Data.db', 'ks/t-1/a-Index.db');
    const calls: string[] = [];
    const sync: SyncFileSystem = async (dir, s) => {
      calls.push(dir);
      await syncFileSystem(dir, s);
    };
    await makeRestoreDurable(root, ['ks/t-1/a-Data.db', 'ks/t-1/a-Index.db'], 4, signal, sync);
    assert.deepEqual(calls, [root]);
  });

  it('nothing written: nothing to sync', async () => {
    let called = false;
    await makeRestoreDurable(restored(), [], 4, signal, async () => { called = true; });
    assert.equal(called, false);
  });

  it('a failed sync is an incomplete restore naming the cause, not retried file by file', async () => {
    const root = restored('ks/t-1/a-Data.db');
    await assert.rejects(
      makeRestoreDurable(root, ['ks/t-1/a-Data.db', 'ks/t-1/gone-Data.db'], 4, signal, async () => {
        throw new Error("sync: error syncing '/x': Input/output error");
      }),
      (err: unknown) => err instanceof IncompleteError && /could not be synced to disk .*Input\/output error.*run again with --force/.test(err.message),
    );
  });

  it('without `sync -f`, every written file and its directories are fsync\'d (a missing one fails the restore)', async () => {
    const root = restored('ks/t-1/a-Data.db', 'ks/t-2/b-Data.db');
    const unavailable: SyncFileSystem = async () => { throw new SyncUnavailableError('sync: invalid option -- f'); };
    await makeRestoreDurable(root, ['ks/t-1/a-Data.db', 'ks/t-2/b-Data.db'], 4, signal, unavailable);
    await assert.rejects(makeRestoreDurable(root, ['ks/t-1/a-Data.db', 'ks/t-3/gone-Data.db'], 4, signal, unavailable),
      (err: unknown) => err instanceof IncompleteError && /ENOENT.*gone-Data\.db/.test(err.message));
  });
});

describe('syncFileSystem (`sync -f`)', () => {
  it('an error of sync itself rejects with its message', async () => {
    await assert.rejects(syncFileSystem(join(tmpdir(), 'cbr-no-such-dir-for-sync'), signal),
      (err: unknown) => !(err instanceof SyncUnavailableError) && /No such file or directory/.test((err as Error).message));
  });

  it('no sync on PATH: unavailable, so the caller falls back to fsync', async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'cbr-empty-path-'));
    try {
      await assert.rejects(syncFileSystem(tmpdir(), signal), SyncUnavailableError);
    } finally {
      process.env.PATH = path;
    }
  });
});
