// The GCS adapter against fake-gcs-server on loopback.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';
import { StorageError } from '../../src/errors.ts';
import { createGcsBackend, type GcsBackendConfig } from '../../src/storage/gcs.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { isAlreadyExists } from '../../src/storage/backend.ts';
import { LARGE_SIZE, MiB, failingSource, readAll, runBackendContract } from '../support/backend-contract.ts';
import { startRecordingProxy } from '../support/recording-proxy.ts';
import { requireEnv } from '../support/run-cli.ts';

const apiEndpoint = requireEnv('CBR_GCS_ENDPOINT');
const bucket = requireEnv('CBR_GCS_BUCKET');

function config(prefix: string, more: Partial<GcsBackendConfig> = {}): GcsBackendConfig {
  return { bucket, prefix, apiEndpoint, projectId: 'cbr-test', resumableThreshold: 1 * MiB, ...more };
}

async function deletePrefix(prefix: string): Promise<void> {
  const storage = new Storage({ apiEndpoint, projectId: 'cbr-test' });
  await storage.bucket(bucket).deleteFiles({ prefix, force: true });
}

async function eventually(condition: () => boolean, ms = 2000): Promise<boolean> {
  for (const end = Date.now() + ms; !condition() && Date.now() < end;) await sleep(20);
  return condition();
}

runBackendContract('gcs (fake-gcs-server)', async () => {
  const prefix = `cbr-e2e/${randomUUID()}/`;
  return { backend: createGcsBackend(config(prefix)), cleanup: () => deletePrefix(prefix) };
});

describe('gcs adapter specifics (fake-gcs-server)', () => {
  const prefix = `cbr-e2e/${randomUUID()}/`;
  after(() => deletePrefix(prefix));

  it('a missing bucket is a permanent StorageError naming NoSuchBucket', async () => {
    const missing = `cbr-missing-${randomUUID().slice(0, 8)}`;
    const backend = createGcsBackend({ ...config(''), bucket: missing });
    const attempts = [
      () => backend.put('small', bytesSource(Buffer.from('x'))),
      () => backend.put('large', bytesSource(randomBytes(2 * MiB))), // resumable
      () => backend.listDirs(''),
    ];
    for (const attempt of attempts) {
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(err instanceof StorageError, `got ${String(err)}`);
        assert.equal(err.permanent, true);
        assert.equal(err.message, `GCS bucket "${missing}" does not exist (NoSuchBucket)`);
        return true;
      });
    }
  });

  it('uploads above the threshold resumably, in chunks, with the crc32c GCS reports', async () => {
    const backend = createGcsBackend(config(prefix, { resumableThreshold: 2 * MiB, chunkSize: 1 * MiB }));
    const data = randomBytes(5 * MiB + 777);
    const info = await backend.put('resumable/big.bin', bytesSource(data));
    assert.equal(info.size, data.length);
    assert.equal(info.crc32c, crc32cToBase64(crc32cOf(data)));
    assert.match(info.etag ?? '', /^\d+$/, 'etag is the generation');
    const st = await backend.stat('resumable/big.bin');
    assert.equal(st?.crc32c, info.crc32c);
    assert.equal(st?.etag, info.etag);
    assert.ok((await readAll(await backend.get('resumable/big.bin'))).equals(data));
  });

  // The library aborts its own request only when the upload errors, not when the stream feeding it fails.
  it('a resumable put whose source fails midway leaves no request waiting for bytes', async () => {
    const proxy = await startRecordingProxy(apiEndpoint, { flavour: 'gcs' });
    try {
      const backend = createGcsBackend(config(prefix, { apiEndpoint: proxy.endpoint }));
      await assert.rejects(backend.put('fail/streamed', failingSource(LARGE_SIZE)), /simulated read failure/);
      assert.ok(await eventually(() => proxy.open() === 0), `${proxy.open()} request(s) still open after the put failed`);
      assert.equal(await backend.stat('fail/streamed'), undefined);
    } finally {
      await proxy.close();
    }
  });

  // The library pipes a late answer into a stream already destroyed, and that throws from an event handler: an
  // uncaught exception that killed a restore whose sibling ranged reads were aborted (CI, stop 18). The adapter
  // must let a read be aborted or destroyed while its answer is still on the way, and then close the request.
  it('a read aborted or destroyed before its answer arrives fails that read only, and leaves no request open', async () => {
    await createGcsBackend(config(prefix)).put('late/answer.bin', bytesSource(randomBytes(2 * MiB)));
    const proxy = await startRecordingProxy(apiEndpoint, { flavour: 'gcs', delayMs: 300 });
    try {
      const backend = createGcsBackend(config(prefix, { apiEndpoint: proxy.endpoint }));
      for (const range of [undefined, { start: 0, end: MiB }]) {
        for (const how of ['abort', 'destroy'] as const) {
          const controller = new AbortController();
          const stream = await backend.get('late/answer.bin', { signal: controller.signal, range });
          const failed = new Promise<unknown>((resolve) => stream.once('error', resolve));
          const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
          stream.resume(); // the request goes out; its answer is 300 ms away
          await sleep(50);
          if (how === 'abort') controller.abort(new Error('stopped by the test'));
          else stream.destroy(new Error('stopped by the test'));
          await closed;
          assert.match(String(await failed), /stopped by the test/);
          await sleep(600); // the late answer arrives and is handled
          assert.ok(await eventually(() => proxy.open() === 0), `${proxy.open()} request(s) still open after ${how}`);
        }
      }
      assert.ok((await readAll(await backend.get('late/answer.bin'))).length === 2 * MiB, 'a later read still works');
    } finally {
      await proxy.close();
    }
  });

  // fake-gcs-server honours ifGenerationMatch=0 for the upload types the library uses (multipart, resumable), so
  // the contract's create-only tests see its refusal; it ignores it for uploadType=media. This test shows what
  // the server cannot: which requests carry the precondition, and that no upload goes another way.
  it('create-only puts send ifGenerationMatch=0 on the single-request and the resumable upload', async () => {
    const proxy = await startRecordingProxy(apiEndpoint, { flavour: 'gcs' });
    try {
      const backend = createGcsBackend(config(prefix, { apiEndpoint: proxy.endpoint }));
      // Each upload starts with a POST (a resumable one then PUTs its bytes to the session it opened).
      const uploads = (): URL[] => proxy.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/upload/'))
        .map((r) => new URL(r.url, proxy.endpoint));
      const cases = [['small', bytesSource(Buffer.from('manifest')), 'multipart'], ['large', bytesSource(randomBytes(2 * MiB)), 'resumable']] as const;
      for (const [name, source, uploadType] of cases) {
        const before = uploads().length;
        await backend.put(`precondition/${name}`, source, { createOnly: true });
        await assert.rejects(backend.put(`precondition/${name}`, source, { createOnly: true }), (err) => isAlreadyExists(err));
        const starts = uploads().slice(before);
        assert.deepEqual(starts.map((u) => u.searchParams.get('uploadType')), [uploadType, uploadType], `${name}: one upload per put`);
        for (const u of starts) assert.equal(u.searchParams.get('ifGenerationMatch'), '0', `${name}: ${u.pathname}${u.search}`);
      }
      // A plain put carries no precondition.
      const before = uploads().length;
      await backend.put('precondition/plain', bytesSource(Buffer.from('x')));
      assert.deepEqual(uploads().slice(before).map((u) => u.searchParams.get('ifGenerationMatch')), [null]);
    } finally {
      await proxy.close();
    }
  });

  it('a file above 1 MiB is streamed (resumable), never read into memory, whatever the threshold', async () => {
    const proxy = await startRecordingProxy(apiEndpoint, { flavour: 'gcs' });
    try {
      // The CLI passes the multipart threshold (64 MiB) as resumableThreshold; an 8-file concurrency of buffered
      // 64 MiB bodies would be 512 MiB.
      const backend = createGcsBackend(config(prefix, { apiEndpoint: proxy.endpoint, resumableThreshold: 64 * MiB }));
      const uploadTypes = (): Array<string | null> => proxy.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/upload/'))
        .map((r) => new URL(r.url, proxy.endpoint).searchParams.get('uploadType'));
      const exactlyOneMiB = randomBytes(MiB);
      const twoMiB = randomBytes(2 * MiB);
      await backend.put('streamed/at-limit', bytesSource(exactlyOneMiB));
      const info = await backend.put('streamed/above-limit', bytesSource(twoMiB));
      assert.deepEqual(uploadTypes(), ['multipart', 'resumable']);
      assert.equal(info.crc32c, crc32cToBase64(crc32cOf(twoMiB)));
      assert.deepEqual(await readAll(await backend.get('streamed/above-limit')), twoMiB);
    } finally {
      await proxy.close();
    }
  });

  it('has no incomplete uploads to list: resumable sessions cannot be listed and expire by themselves', () => {
    const backend = createGcsBackend(config(prefix));
    assert.equal(backend.listIncompleteUploads, undefined);
    assert.equal(backend.abortIncompleteUpload, undefined);
  });

  it('a single-request upload reports crc32c and generation', async () => {
    const backend = createGcsBackend(config(prefix));
    const data = Buffer.from('a small sstable component');
    const info = await backend.put('simple/Statistics.db', bytesSource(data));
    assert.equal(info.crc32c, crc32cToBase64(crc32cOf(data)));
    assert.ok(info.etag);
    const copied = await backend.copy('simple/Statistics.db', 'simple/copy.db');
    assert.equal(copied.crc32c, info.crc32c);
  });
});
