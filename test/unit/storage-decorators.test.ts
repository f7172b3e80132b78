// The retry and dry-run decorators around a real (file://) backend: what they do with create-only puts and with
// the incomplete-upload members.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StorageError } from '../../src/errors.ts';
import { alreadyExistsError } from '../../src/storage/already-exists.ts';
import { isAlreadyExists, type Backend, type IncompleteUpload } from '../../src/storage/backend.ts';
import { withDryRun } from '../../src/storage/dry-run.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { withRetries } from '../../src/storage/retry.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { collect, readAll } from '../support/backend-contract.ts';

async function withRoot(test: (root: string, backend: Backend) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'cbr-decorators-'));
  try {
    await test(root, createLocalBackend({ root }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A leftover temp file named as the local backend names them (its own tests show the killed-put case). */
async function leftover(root: string, key: string): Promise<void> {
  const parts = key.split('/');
  await mkdir(join(root, ...parts.slice(0, -1)), { recursive: true });
  await writeFile(join(root, ...parts.slice(0, -1), `.${parts.at(-1)}.cbr-tmp-0000`), 'half');
}

/** The backend without the optional members, as GCS is. */
function withoutIncompleteUploads(inner: Backend): Backend {
  const { listIncompleteUploads: _list, abortIncompleteUpload: _abort, ...rest } = inner;
  return rest;
}

const fastRetries = { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 };

describe('isAlreadyExists', () => {
  it('is true only for the already-exists refusal', () => {
    assert.equal(isAlreadyExists(alreadyExistsError('S3 object s3://b/k', 'PreconditionFailed')), true);
    assert.equal(isAlreadyExists(new StorageError('gone', { permanent: true, code: 'NoSuchKey' })), false);
    assert.equal(isAlreadyExists(new Error('PreconditionFailed')), false);
    assert.equal(isAlreadyExists(undefined), false);
    const err = alreadyExistsError('local object "a/b"', 'EEXIST');
    assert.equal(err.message, 'local object "a/b" already exists (EEXIST)');
    assert.equal(err.permanent, true);
  });
});

describe('dry-run decorator', () => {
  it('ignores createOnly and writes nothing', async () => {
    await withRoot(async (_root, backend) => {
      await backend.put('k', bytesSource(Buffer.from('stored')));
      const dry = withDryRun(backend);
      await dry.put('k', bytesSource(Buffer.from('other')), { createOnly: true });
      await dry.put('new', bytesSource(Buffer.from('other')), { createOnly: true });
      assert.equal((await readAll(await backend.get('k'))).toString(), 'stored');
      assert.equal(await backend.stat('new'), undefined);
    });
  });

  it('lists incomplete uploads and aborts none', async () => {
    await withRoot(async (root, backend) => {
      await leftover(root, 'n/f.db');
      const dry = withDryRun(backend);
      const listed = await collect(dry.listIncompleteUploads!('n/'));
      assert.deepEqual(listed.map((u) => u.key), ['n/f.db']);
      await dry.abortIncompleteUpload!(listed[0]!);
      assert.deepEqual(await readdir(join(root, 'n')), ['.f.db.cbr-tmp-0000']);
      assert.equal(withDryRun(withoutIncompleteUploads(backend)).listIncompleteUploads, undefined);
      assert.equal(withDryRun(withoutIncompleteUploads(backend)).abortIncompleteUpload, undefined);
    });
  });
});

describe('retry decorator', () => {
  it('passes createOnly through', async () => {
    await withRoot(async (_root, backend) => {
      const retried = withRetries(backend, fastRetries);
      await retried.put('k', bytesSource(Buffer.from('first')), { createOnly: true });
      await assert.rejects(retried.put('k', bytesSource(Buffer.from('second')), { createOnly: true }), (err) => isAlreadyExists(err));
      assert.equal((await readAll(await backend.get('k'))).toString(), 'first');
    });
  });

  it('retries a failed abort of an incomplete upload, and lists through', async () => {
    await withRoot(async (root, backend) => {
      await leftover(root, 'n/f.db');
      let failures = 1;
      const flaky: Backend = {
        ...backend,
        abortIncompleteUpload: async (upload: IncompleteUpload) => {
          if (failures-- > 0) throw new StorageError('store unavailable', { permanent: false, code: 'SlowDown' });
          return backend.abortIncompleteUpload!(upload);
        },
      };
      const retries: string[] = [];
      const retried = withRetries(flaky, { ...fastRetries, onRetry: (what) => retries.push(what) });
      const [upload] = await collect(retried.listIncompleteUploads!('n/'));
      await retried.abortIncompleteUpload!(upload!);
      assert.deepEqual(retries, ['abort upload of n/f.db']);
      assert.deepEqual(await collect(backend.listIncompleteUploads!('')), []);
      assert.equal(withRetries(withoutIncompleteUploads(backend)).listIncompleteUploads, undefined);
      assert.equal(withRetries(withoutIncompleteUploads(backend)).abortIncompleteUpload, undefined);
    });
  });
});
