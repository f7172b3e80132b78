// The small-file writer of restores (restore/small-file.ts): bytes and mtime as given, a fresh name only (never
// through a file or symlink that appeared under it), and a rename that replaces the target.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renameInPlace, writeDurably } from '../../src/restore/small-file.ts';

const dir = (): string => mkdtempSync(join(tmpdir(), 'cbr-small-'));

describe('writeDurably / renameInPlace', () => {
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

  it('renameInPlace replaces the target with the temp file', async () => {
    const d = dir();
    writeFileSync(join(d, 'target'), 'old');
    await writeDurably(join(d, 'tmp'), Buffer.from('new'), new Date());
    renameInPlace(join(d, 'tmp'), join(d, 'target'));
    assert.equal(readFileSync(join(d, 'target'), 'utf8'), 'new');
  });
});
