// One restored file (restore/download.ts) over the local backend: a body or a decrypting stage that fails early,
// before the writer reads it, fails that file (a rejected promise), never the process (an unhandled 'error').
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { restoreFile } from '../../src/restore/download.ts';
import { targetTree } from '../../src/restore/target-dir.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { bytesSource } from '../../src/storage/source.ts';
import type { Backend } from '../../src/storage/backend.ts';
import type { ManifestFile } from '../../src/catalog/manifest.ts';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';

const BYTES = Buffer.alloc(4096, 7);

function fixture(): { backend: Backend; file: ManifestFile; root: string } {
  const store = mkdtempSync(join(tmpdir(), 'cbr-dl-store-'));
  const root = mkdtempSync(join(tmpdir(), 'cbr-dl-target-'));
  const file: ManifestFile = {
    path: 'ks/t-1/nb-1-big-Data.db', dataDir: 0, size: BYTES.length, mtimeMs: Date.now(), ino: 1,
    key: 'n1/ks/t-1/nb-1-big-Data.db', crc32c: crc32cToBase64(crc32cOf(BYTES)),
  };
  return { backend: createLocalBackend({ root: store }), file, root };
}

/** A stage that fails on the next tick, before any reader is attached (a bad tag found at once). */
const failingStage = () => {
  const stage = new PassThrough();
  process.nextTick(() => stage.destroy(new Error('invalid tag')));
  return stage;
};

describe('restoreFile: early failures of the body or the decrypting stage', () => {
  it('a decrypting stage that fails before the writer reads fails the file, and leaves no temp file', async () => {
    const { backend, file, root } = fixture();
    await backend.put(file.key, bytesSource(BYTES));
    const encrypted: ManifestFile = { ...file, stored: { size: BYTES.length } };
    const target = { tree: targetTree(root, true), target: 'ks/t-1/nb-1-big-Data.db', file: encrypted };
    await assert.rejects(restoreFile(backend, target, false, undefined, undefined, failingStage), /invalid tag/);
    assert.deepEqual(readdirSync(join(root, 'ks/t-1')), []);
  });

  it('a body that fails before the writer reads fails the file', async () => {
    const { backend, file, root } = fixture();
    const failingBody: Backend = {
      ...backend,
      get: async () => {
        const body = new PassThrough();
        process.nextTick(() => body.destroy(new Error('connection reset')));
        return body;
      },
    };
    const target = { tree: targetTree(root, true), target: 'ks/t-1/nb-1-big-Data.db', file };
    await assert.rejects(restoreFile(failingBody, target, false), /connection reset/);
    assert.deepEqual(readdirSync(join(root, 'ks/t-1')), []);
  });
});
