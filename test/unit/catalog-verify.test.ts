// `verify` over a local destination: ok, missing, truncated, one corrupted byte (caught by the store's checksum,
// by the ETag, or only with --deep when the store offers neither), `latest`, unknown tags.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyCommand } from '../../src/commands/verify.ts';
import { IncompleteError, UsageError } from '../../src/errors.ts';
import type { Backend } from '../../src/storage/backend.ts';
import { addBackup, harness, snapshotPath, backupPath, type Harness } from './catalog-fixture.ts';

const TAG = 'nightly-1';
const DATA = snapshotPath('users', TAG, 'nb-1-big-Data.db');
const INDEX = snapshotPath('users', TAG, 'nb-1-big-Index.db');

async function withBackup(h: Harness): Promise<void> {
  await addBackup(h.backend, { nodeId: 'node-a', tag: TAG, kind: 'snapshot', startedAt: '2026-11-20T03:15:00.000Z',
    files: [{ path: DATA, content: Buffer.alloc(4096, 7) }, { path: INDEX, content: 'index bytes' }] });
}

function objectFile(h: Harness, path: string): string {
  return join(h.root, 'node-a', ...path.split('/'));
}

async function flipOneByte(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes[100] = (bytes[100] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
}

/** A store that reports neither CRC32C nor ETag in its metadata (only existence and size). */
function sizeOnly(backend: Backend): Backend {
  return { ...backend, stat: async (key, o) => {
    const info = await backend.stat(key, o);
    return info && { key: info.key, size: info.size };
  }, list: async function* (prefix, o) {
    for await (const info of backend.list(prefix, o)) yield { key: info.key, size: info.size };
  } };
}

async function failuresOf(run: Promise<void>): Promise<readonly string[]> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof IncompleteError, `IncompleteError, got ${String(err)}`);
    return err.failures;
  }
  assert.fail('verify passed');
}

describe('verify', () => {
  it('prints a one-line OK when every object matches', async () => {
    const h = await harness();
    await withBackup(h);
    await verifyCommand({ backup: TAG, deep: false }, h.ctx);
    // file:// lists each object's size and identity (mtime and size): one listing settles both, no stat.
    assert.match(h.stdout(), /^verify nightly-1: OK, 2 objects, 4\.0 KiB \(2 by ETag, from 1 directory listing\(s\); --deep downloads and re-hashes\)\n$/);
    await verifyCommand({ backup: TAG, deep: true }, h.ctx);
    assert.match(h.stdout(), /OK, 2 objects, .*every object downloaded/);
  });

  it('a missing object: exit 4 naming it', async () => {
    const h = await harness();
    await withBackup(h);
    await rm(objectFile(h, INDEX));
    const failures = await failuresOf(verifyCommand({ backup: TAG, deep: false }, h.ctx));
    assert.deepEqual(failures, [`node-a/${INDEX}: missing: the object does not exist`]);
    assert.match(h.stdout(), /MISMATCH node-a\/.*Index\.db: missing/);
  });

  it('a truncated object: the recorded and the stored size', async () => {
    const h = await harness();
    await withBackup(h);
    await truncate(objectFile(h, DATA), 1000);
    const failures = await failuresOf(verifyCommand({ backup: TAG, deep: false }, h.ctx));
    assert.deepEqual(failures, [`node-a/${DATA}: size: recorded 4096 bytes, stored 1000`]);
  });

  it('one corrupted byte: caught by the stored CRC32C where the store keeps one', async () => {
    const h = await harness();
    await withBackup(h);
    await flipOneByte(objectFile(h, DATA));
    const failures = await failuresOf(verifyCommand({ backup: TAG, deep: false }, h.ctx));
    assert.equal(failures.length, 1);
    assert.match(failures[0] ?? '', /^node-a\/.*Data\.db: checksum: recorded crc32c \S+, stored \S+$/);
    const deep = await failuresOf(verifyCommand({ backup: TAG, deep: true }, h.ctx));
    assert.match(deep[0] ?? '', /Data\.db: checksum: recorded crc32c \S+, downloaded \S+$/, 'with --deep, the bytes settle it');
  });

  it('one corrupted byte: caught by the ETag when the store has no CRC32C', async () => {
    const h = await harness();
    await withBackup(h);
    const noCrc: Backend = { ...h.backend, stat: async (key, o) => {
      const info = await h.backend.stat(key, o);
      return info && { key: info.key, size: info.size, ...(info.etag ? { etag: info.etag } : {}) };
    } };
    await flipOneByte(objectFile(h, DATA));
    const failures = await failuresOf(verifyCommand({ backup: TAG, deep: false }, { ...h.ctx, backend: noCrc }));
    assert.match(failures[0] ?? '', /Data\.db: etag: recorded \S+, stored \S+$/);
  });

  it('one corrupted byte under a store with no checksum metadata: plain verify passes, --deep fails', async () => {
    const h = await harness();
    await withBackup(h);
    await flipOneByte(objectFile(h, DATA));
    const ctx = { ...h.ctx, backend: sizeOnly(h.backend) };
    await verifyCommand({ backup: TAG, deep: false }, ctx);
    // A listing with sizes alone settles nothing more than a size: each object is then asked for on its own.
    assert.match(h.stdout(), /OK, 2 objects.*2 by size only, from 1 directory listing\(s\) and 2 single lookup\(s\)/);
    const failures = await failuresOf(verifyCommand({ backup: TAG, deep: true }, ctx));
    assert.equal(failures.length, 1);
    assert.match(failures[0] ?? '', /Data\.db: checksum: recorded crc32c (\S+), downloaded (?!\1)\S+$/);
  });

  it('reads bytes from the key the manifest records, not from the path', async () => {
    const h = await harness();
    await addBackup(h.backend, { nodeId: 'node-a', tag: TAG, kind: 'snapshot', startedAt: '2026-11-20T03:15:00.000Z',
      files: [{ path: DATA, content: 'shared bytes', key: 'node-a/.objects/ab/cdef' }] });
    await verifyCommand({ backup: TAG, deep: true }, h.ctx);
    assert.match(h.stdout(), /OK, 1 objects/);
  });

  it('--json: one result document with every problem', async () => {
    const h = await harness({ json: true });
    await withBackup(h);
    await rm(objectFile(h, INDEX));
    await truncate(objectFile(h, DATA), 10);
    await failuresOf(verifyCommand({ backup: TAG, deep: true }, h.ctx));
    const doc = JSON.parse(h.stdout()) as { ok: boolean; problems: string[]; deep: boolean };
    assert.equal(doc.ok, false);
    assert.equal(doc.deep, true);
    assert.equal(doc.problems.length, 2);
  });

  it('latest is the newest snapshot of this node (not an incremental, not another node)', async () => {
    const h = await harness();
    await withBackup(h);
    await addBackup(h.backend, { nodeId: 'node-a', tag: 'zz-incr', kind: 'incremental', startedAt: '2026-11-22T00:00:00.000Z',
      files: [{ path: backupPath('users', 'nb-9-big-Data.db'), content: 'i' }] });
    await addBackup(h.backend, { nodeId: 'node-a', tag: 'aa-newer', kind: 'snapshot', startedAt: '2026-11-21T00:00:00.000Z',
      files: [{ path: snapshotPath('users', 'aa-newer', 'nb-2-big-Data.db'), content: 'n' }] });
    await addBackup(h.backend, { nodeId: 'node-b', tag: 'other-node', kind: 'snapshot', startedAt: '2026-11-23T00:00:00.000Z',
      files: [{ path: snapshotPath('users', 'other-node', 'nb-2-big-Data.db'), content: 'o' }] });
    await verifyCommand({ backup: 'latest', deep: false }, h.ctx);
    assert.match(h.stdout(), /^verify aa-newer: OK, 1 objects/);
  });

  it('an unknown tag is a usage error that lists the backups there are', async () => {
    const h = await harness();
    await withBackup(h);
    await assert.rejects(verifyCommand({ backup: 'nope', deep: false }, h.ctx),
      (err: unknown) => err instanceof UsageError && /no backup "nope" for node node-a.*backups: nightly-1/.test(err.message));
    const empty = await harness({ nodeId: 'node-z' }, h.root);
    await assert.rejects(verifyCommand({ backup: 'latest', deep: false }, empty.ctx),
      (err: unknown) => err instanceof UsageError && /no snapshot backup.*no backups at all/.test(err.message));
  });
});
