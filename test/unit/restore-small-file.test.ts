// The small-file writer of restores (restore/small-file.ts): bytes and mtime as given, a fresh name only (never
// through a file or symlink that appeared under it); and restoreFile's rename, which replaces an existing target.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDurably } from '../../src/restore/small-file.ts';
import { restoreFile } from '../../src/restore/download.ts';
import { targetTree } from '../../src/restore/target-dir.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';

const dir = (): string => mkdtempSync(join(tmpdir(), 'cbr-small-'));

describe('writeDurably, and the rename after it', () => {
  it('writes every byte (also of a slice of a larger buffer) and the given mtime', async () => {
    const d = dir();
    const whole = Buffer.alloc(200_000);
    for (let i = 0; i < whole.length; i++) whole[i] = (i * 31) & 0xff;
    const slice = whole.subarray(1000, 150_000);
    const mtime = new Date('2024-03-01T02:03:04.000Z');
    await writeDurably(join(d, 'tmp'), slice, mtime);
    assert.deepEqual(readFileSync(join(d, 'tmp')), Buffer.from(slice));
    assert.equal(statSync(join(d, 'tmp')).mtimeMs, mtime.getTime());
  });

  it('refuses a name that exists, and does not write through a symlink planted under it', async () => {
    const d = dir();
    writeFileSync(join(d, 'victim'), 'keep');
    symlinkSync(join(d, 'victim'), join(d, 'tmp'));
    await assert.rejects(writeDurably(join(d, 'tmp'), Buffer.from('evil'), new Date()), { code: 'EEXIST' });
    assert.equal(readFileSync(join(d, 'victim'), 'utf8'), 'keep');
  });

  it('an empty file is created too', async () => {
    const d = dir();
    await writeDurably(join(d, 'empty'), Buffer.alloc(0), new Date(0));
    assert.equal(statSync(join(d, 'empty')).size, 0);
  });

  it('restoreFile replaces an existing target with the restored small file', async () => {
    const store = dir();
    const root = dir();
    const bytes = Buffer.from('new');
    const backend = createLocalBackend({ root: store });
    const key = 'n1/ks/t-1/nb-1-big-TOC.txt';
    await backend.put(key, bytesSource(bytes));
    mkdirSync(join(root, 'ks/t-1'), { recursive: true });
    writeFileSync(join(root, 'ks/t-1/nb-1-big-TOC.txt'), 'old');
    const file = { path: 'ks/t-1/nb-1-big-TOC.txt', dataDir: 0, size: bytes.length, mtimeMs: Date.now(), ino: 1, key, crc32c: crc32cToBase64(crc32cOf(bytes)) };
    const done = await restoreFile(backend, { tree: targetTree(root), target: 'ks/t-1/nb-1-big-TOC.txt', file }, false);
    assert.equal(done, 'written');
    assert.equal(readFileSync(join(root, 'ks/t-1/nb-1-big-TOC.txt'), 'utf8'), 'new');
  });
});
