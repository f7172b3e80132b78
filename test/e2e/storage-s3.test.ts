// The S3 adapter against versitygw on loopback, with the SDK's default checksums and with WHEN_REQUIRED.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../../src/errors.ts';
import { choosePartSize, createS3Backend, type S3BackendConfig, type S3ChecksumMode } from '../../src/storage/s3.ts';
import { bytesSource, chunksSource, fileSource } from '../../src/storage/source.ts';
import { LARGE_SIZE, MiB, readAll, runBackendContract, sha256Of } from '../support/backend-contract.ts';
import { requireEnv } from '../support/run-cli.ts';

const endpoint = requireEnv('CBR_S3_ENDPOINT');
const bucket = requireEnv('CBR_S3_BUCKET');
const accessKey = requireEnv('CBR_S3_ACCESS_KEY');
const secretKey = requireEnv('CBR_S3_SECRET_KEY');
// The adapter takes credentials only from the SDK default chain; the environment is its first link.
process.env.AWS_ACCESS_KEY_ID = accessKey;
process.env.AWS_SECRET_ACCESS_KEY = secretKey;
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;

function config(prefix: string, more: Partial<S3BackendConfig> = {}): S3BackendConfig {
  return { bucket, prefix, region: 'us-east-1', endpoint, forcePathStyle: true, ...more };
}

/** A plain client for what the adapter must not hide: leftover multipart uploads, cleanup. */
function rawClient(): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
}

async function deletePrefix(client: S3Client, prefix: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

async function openUploads(client: S3Client, key: string): Promise<string[]> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  return (out.Uploads ?? []).filter((u) => u.Key === key).map((u) => u.UploadId ?? '?');
}

for (const mode of ['WHEN_SUPPORTED', 'WHEN_REQUIRED'] as const satisfies readonly S3ChecksumMode[]) {
  runBackendContract(`s3 (versitygw, ${mode})`, async () => {
    const prefix = `cbr-e2e/${randomUUID()}/`;
    const client = rawClient();
    const backend = createS3Backend(config(prefix, { checksumMode: mode, multipartThreshold: 8 * MiB, partSize: 8 * MiB }));
    return {
      backend,
      incompleteUploads: (key) => openUploads(client, prefix + key),
      cleanup: async () => {
        await deletePrefix(client, prefix);
        client.destroy();
      },
    };
  });
}

describe('s3 adapter specifics (versitygw)', () => {
  const prefix = `cbr-e2e/${randomUUID()}/`;
  const client = rawClient();
  after(async () => {
    await deletePrefix(client, prefix);
    client.destroy();
  });

  it('grows the part size so that no upload exceeds 10,000 parts', () => {
    assert.equal(choosePartSize(100 * MiB), 64 * MiB);
    assert.equal(choosePartSize(100 * MiB, MiB), 8 * MiB, 'never below 8 MiB');
    assert.equal(choosePartSize(1024 * 1024 * MiB), 105 * MiB, '1 TiB needs > 100 MiB parts');
    assert.ok(Math.ceil(5 * 1024 * 1024 * MiB / choosePartSize(5 * 1024 * 1024 * MiB)) <= 10_000);
  });

  it('a wrong secret key is a permanent StorageError that does not leak the secret', async () => {
    const wrong = `wrong-${randomUUID()}`;
    process.env.AWS_SECRET_ACCESS_KEY = wrong;
    const backend = createS3Backend(config(prefix));
    try {
      for (const attempt of [() => backend.put('auth/x', bytesSource(Buffer.from('x'))), () => backend.listDirs('')]) {
        await assert.rejects(attempt(), (err: unknown) => {
          assert.ok(err instanceof StorageError, `got ${String(err)}`);
          assert.equal(err.permanent, true);
          assert.equal(err.code, 'SignatureDoesNotMatch');
          assert.ok(!err.message.includes(wrong) && !err.message.includes(secretKey), err.message);
          assert.ok(err.message.includes(bucket), err.message);
          return true;
        });
      }
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = secretKey;
      await backend.close();
    }
  });

  it('a missing bucket is a permanent StorageError naming NoSuchBucket', async () => {
    const missing = `cbr-missing-${randomUUID().slice(0, 8)}`;
    const backend = createS3Backend({ ...config(''), bucket: missing });
    try {
      for (const attempt of [() => backend.put('x', bytesSource(Buffer.from('x'))), () => backend.listDirs('')]) {
        await assert.rejects(attempt(), (err: unknown) => {
          assert.ok(err instanceof StorageError, `got ${String(err)}`);
          assert.equal(err.permanent, true);
          assert.equal(err.message, `S3 bucket "${missing}" does not exist (NoSuchBucket)`);
          return true;
        });
      }
    } finally {
      await backend.close();
    }
  });

  it('streams a body that arrives in many tiny chunks (a manifest built in slices)', async () => {
    const backend = createS3Backend(config(prefix));
    try {
      const chunks = Array.from({ length: 3000 }, (_, i) => randomBytes(i % 7 === 0 ? 3 : 500 + (i % 300)));
      const data = Buffer.concat(chunks);
      assert.ok(data.length > MiB, 'above the single-buffer limit, so the streamed path is taken');
      await backend.put('tiny-chunks', chunksSource(chunks));
      assert.ok((await readAll(await backend.get('tiny-chunks'))).equals(data));
    } finally {
      await backend.close();
    }
  });

  it('copies a large object part by part (UploadPartCopy)', async () => {
    const backend = createS3Backend(config(prefix, { multipartCopyThreshold: 8 * MiB, partSize: 8 * MiB }));
    try {
      const data = randomBytes(LARGE_SIZE);
      await backend.put('mpcopy/src', bytesSource(data));
      const info = await backend.copy('mpcopy/src', 'mpcopy/dst');
      assert.equal(info.size, LARGE_SIZE);
      assert.match(info.etag ?? '', /-3$/, 'a three-part multipart ETag');
      assert.ok((await readAll(await backend.get('mpcopy/dst'))).equals(data));
    } finally {
      await backend.close();
    }
  });

  it('a caller abort stops a multipart upload and aborts it on the server', async () => {
    const backend = createS3Backend(config(prefix, { multipartThreshold: 8 * MiB, partSize: 8 * MiB }));
    try {
      const controller = new AbortController();
      const reason = new Error('stop now');
      const put = backend.put('abort/x', bytesSource(randomBytes(LARGE_SIZE)), {
        signal: controller.signal,
        onBytes: () => controller.abort(reason),
      });
      await assert.rejects(put, (err) => err === reason);
      assert.deepEqual(await openUploads(client, `${prefix}abort/x`), []);
      assert.equal(await backend.stat('abort/x'), undefined);
    } finally {
      await backend.close();
    }
  });

  it('round-trips a 100 MiB file byte-identical via multipart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbr-s3-100m-'));
    const backend = createS3Backend(config(prefix, { partSize: 16 * MiB }));
    try {
      const path = join(dir, 'big.bin');
      const size = 100 * MiB;
      const expected = await writeRandomFile(path, size);
      const info = await backend.put('big/100m.bin', fileSource(path, size));
      assert.match(info.etag ?? '', /-7$/, 'seven 16 MiB parts');
      assert.equal((await backend.stat('big/100m.bin'))?.size, size);
      assert.equal(await sha256Of(await backend.get('big/100m.bin')), expected);
    } finally {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Writes size random bytes in 1 MiB chunks and returns their sha256. */
async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < size; written += MiB) {
    const chunk = randomBytes(Math.min(MiB, size - written));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}
