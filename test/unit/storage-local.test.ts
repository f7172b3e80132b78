import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import { UnsafePathError } from '../../src/errors.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { bytesSource, fileSource, readWholeSource } from '../../src/storage/source.ts';
import { failingSource, readAll, runBackendContract } from '../support/backend-contract.ts';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cbr-local-'));
}

/** Runs a test in a fresh directory, removed afterwards whatever happens. */
async function withTempRoot(test: (root: string) => Promise<void>): Promise<void> {
  const root = await tempRoot();
  try {
    await test(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

runBackendContract('local', async () => {
  const root = await tempRoot();
  return { backend: createLocalBackend({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('local backend specifics', () => {
  const unsafe = ['', '/etc/passwd', '../escape', 'a/../../escape', 'a/..', 'a//b', './a', 'a/./b', 'nul\0byte', 'a/'];

  it('refuses unsafe keys in every operation', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      for (const key of unsafe) {
        await assert.rejects(backend.put(key, bytesSource(Buffer.from('x'))), UnsafePathError, `put ${JSON.stringify(key)}`);
        await assert.rejects(backend.stat(key), UnsafePathError);
        await assert.rejects(backend.get(key), UnsafePathError);
        await assert.rejects(backend.copy('ok', key), UnsafePathError);
        await assert.rejects(backend.delete(['ok', key]), UnsafePathError);
      }
      await assert.rejects(backend.listDirs('../'), UnsafePathError);
      assert.deepEqual(await readdir(root), [], 'nothing was written');
    });
  });

  it('writes files at the key path, with crc32c and an mtime-size etag', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      const data = Buffer.from('hello cassandra');
      const info = await backend.put('node/ks/t-1/snapshots/tag/nb-1-big-Data.db', bytesSource(data));
      const path = join(root, 'node/ks/t-1/snapshots/tag/nb-1-big-Data.db');
      const st = await stat(path);
      assert.equal(info.crc32c, crc32cToBase64(crc32cOf(data)));
      assert.equal(info.etag, `${st.mtimeMs}-${st.size}`);
      // A file changed behind the backend's back gets a fresh checksum, not the cached one.
      await writeFile(path, 'other bytes!');
      const again = await backend.stat('node/ks/t-1/snapshots/tag/nb-1-big-Data.db');
      assert.equal(again?.crc32c, crc32cToBase64(crc32cOf(Buffer.from('other bytes!'))));
    });
  });

  it('leaves no temp file after a failed put and keeps the previous version', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      await backend.put('d/f', bytesSource(Buffer.from('old')));
      await assert.rejects(backend.put('d/f', failingSource(100_000)));
      assert.deepEqual(await readdir(join(root, 'd')), ['f']);
      assert.equal((await readAll(await backend.get('d/f'))).toString(), 'old');
    });
  });

  it('removes directories emptied by delete', async () => {
    await withTempRoot(async (root) => {
      const backend = createLocalBackend({ root });
      await backend.put('a/b/c/1', bytesSource(Buffer.from('1')));
      await backend.put('a/keep', bytesSource(Buffer.from('2')));
      await backend.delete(['a/b/c/1']);
      assert.deepEqual(await readdir(root), ['a']);
      assert.deepEqual(await readdir(join(root, 'a')), ['keep']);
    });
  });
});

describe('sources', () => {
  it('fileSource reads exact ranges, including empty ones', async () => {
    await withTempRoot(async (root) => {
      const path = join(root, 'f');
      const data = Buffer.from('0123456789');
      await writeFile(path, data);
      const src = fileSource(path, data.length);
      assert.equal((await readAll(src.open())).toString(), '0123456789');
      assert.equal((await readAll(src.open(2, 5))).toString(), '234');
      assert.equal((await readAll(src.open(4, 4))).length, 0);
      assert.throws(() => src.open(5, 11), RangeError);
    });
  });

  it('bytesSource reads exact ranges', async () => {
    const src = bytesSource(Buffer.from('abcdef'));
    assert.equal((await readAll(src.open(1, 3))).toString(), 'bc');
    assert.equal((await readAll(src.open())).toString(), 'abcdef');
    assert.equal((await readAll(bytesSource(Buffer.alloc(0)).open())).length, 0);
  });

  it('readWholeSource: the source\'s own readAll (a shrunk file reads short), else its stream', async () => {
    await withTempRoot(async (root) => {
      const path = join(root, 'f');
      await writeFile(path, '0123456789');
      const src = fileSource(path, 10);
      assert.equal((await readWholeSource(src)).toString(), '0123456789');
      await truncate(path, 4);
      assert.equal((await readWholeSource(src)).toString(), '0123', 'the caller sees the short length');
      const streamOnly = { size: 6, open: () => bytesSource(Buffer.from('abcdef')).open() };
      assert.equal((await readWholeSource(streamOnly)).toString(), 'abcdef');
      const aborted = AbortSignal.abort(new Error('stop'));
      await assert.rejects(readWholeSource(src, aborted), /stop/);
    });
  });
});
