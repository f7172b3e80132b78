// Server-side encryption and storage classes, observed where the test servers cannot enforce them: versitygw and
// fake-gcs-server accept the headers and ignore them, so a recording proxy between the real client and the real
// server shows what every request carried (uploads small and large, the direct signed PUT, reads, server-side
// copies). Azurite keeps tiers, so the Azure tier is checked at the server; its encryption scope at the proxy.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import type { Backend } from '../../src/storage/backend.ts';
import { createGcsBackend } from '../../src/storage/gcs.ts';
import { createS3Backend } from '../../src/storage/s3.ts';
import { openAzureBackend } from '../../src/storage/azure.ts';
import { bytesSource } from '../../src/storage/source.ts';
import type { ServerSideEncryption } from '../../src/storage/server-side.ts';
import { readAll } from '../support/backend-contract.ts';
import { startRecordingProxy, type RecordedRequest, type RecordingProxy } from '../support/recording-proxy.ts';
import { requireEnv } from '../support/run-cli.ts';
import { uniquePrefix } from '../support/s3-env.ts';
import { azureAccount, azureConfig, azureEndpoint, deleteAzurePrefix, testContainer } from '../support/azure-env.ts';

const MiB = 1024 * 1024;
const key = randomBytes(32);
const keyB64 = key.toString('base64');
const keyMd5 = createHash('md5').update(key).digest('base64');
const keySha = createHash('sha256').update(key).digest('base64');

process.env.AWS_ACCESS_KEY_ID = requireEnv('CBR_S3_ACCESS_KEY');
process.env.AWS_SECRET_ACCESS_KEY = requireEnv('CBR_S3_SECRET_KEY');

/** What each request of the sequence below was, by the S3 API's names. */
function s3Operation(r: RecordedRequest): string {
  const q = new URL(r.url, 'http://x').searchParams;
  if (r.method === 'PUT' && q.has('partNumber')) return r.headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart';
  if (r.method === 'PUT') return r.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
  if (r.method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (r.method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (r.method === 'HEAD') return 'HeadObject';
  if (r.method === 'GET' && !q.has('list-type')) return 'GetObject';
  return `${r.method} other`;
}

/** Small (direct signed PUT), 2 MiB (streamed PutObject), 12 MiB (multipart), copies of each (CopyObject, and
 * UploadPartCopy for the large one with a low copy threshold), a stat and a read of each. */
async function exercise(backend: Backend, storageClass: string | undefined): Promise<void> {
  const sizes = { small: 3000, mid: 2 * MiB, large: 12 * MiB + 5 } as const;
  for (const [name, size] of Object.entries(sizes)) {
    const data = randomBytes(size);
    await backend.put(`data/${name}`, bytesSource(data), storageClass === undefined ? {} : { storageClass });
    await backend.copy(`data/${name}`, `copy/${name}`, { size, ...(storageClass === undefined ? {} : { storageClass }) });
    assert.equal((await backend.stat(`data/${name}`))?.size, size);
    assert.ok((await readAll(await backend.get(`copy/${name}`))).equals(data));
  }
}

describe('S3 server-side encryption and storage class, at a recording proxy before versitygw', () => {
  let proxy: RecordingProxy;
  const prefix = `${uniquePrefix('sse')}/`;
  const open = (encryption: ServerSideEncryption): Backend => createS3Backend({
    bucket: requireEnv('CBR_S3_BUCKET'), prefix, region: 'us-east-1', endpoint: proxy.endpoint, forcePathStyle: true,
    multipartThreshold: 8 * MiB, multipartCopyThreshold: 8 * MiB, encryption,
  });
  before(async () => { proxy = await startRecordingProxy(requireEnv('CBR_S3_ENDPOINT'), { flavour: 's3' }); });
  after(async () => {
    const cleanup = open({ kind: 's3-aes256' });
    await cleanup.delete(['small', 'mid', 'large'].flatMap((n) => [`data/${n}`, `copy/${n}`]));
    await proxy.close();
  });

  it('SSE-KMS with a key id and a storage class: on every write and copy, signed on the direct PUT; none on reads', async () => {
    const from = proxy.requests.length;
    await exercise(open({ kind: 's3-kms', keyId: 'arn:aws:kms:us-east-1:111122223333:key/cbr-test' }), 'STANDARD_IA');
    const sent = proxy.requests.slice(from);
    const ops = sent.map(s3Operation);
    for (const op of ['PutObject', 'CreateMultipartUpload', 'CopyObject', 'UploadPartCopy', 'UploadPart', 'HeadObject', 'GetObject']) {
      assert.ok(ops.includes(op), `${op} was sent: ${ops.join(', ')}`);
    }
    for (const r of sent) {
      const op = s3Operation(r);
      const writes = ['PutObject', 'CreateMultipartUpload', 'CopyObject'].includes(op);
      assert.equal(r.headers['x-amz-server-side-encryption'], writes ? 'aws:kms' : undefined, `${op} ${r.url}`);
      assert.equal(r.headers['x-amz-server-side-encryption-aws-kms-key-id'],
        writes ? 'arn:aws:kms:us-east-1:111122223333:key/cbr-test' : undefined, `${op} ${r.url}`);
      assert.equal(r.headers['x-amz-storage-class'], writes ? 'STANDARD_IA' : undefined, `${op} ${r.url}`);
    }
    // The small object went as the direct PUT (no SDK user agent): its SSE headers are among the signed ones.
    const direct = sent.find((r) => s3Operation(r) === 'PutObject' && r.url.endsWith('/data/small') && !/aws-sdk/.test(String(r.headers['user-agent'])));
    assert.ok(direct, 'the small put went directly');
    const signed = /SignedHeaders=([^,]+)/.exec(String(direct.headers.authorization))?.[1]?.split(';') ?? [];
    for (const h of ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-storage-class']) {
      assert.ok(signed.includes(h), `${h} is signed: ${signed.join(';')}`);
    }
  });

  it('SSE-C: the key and its MD5 on every request that touches the bytes, the copy source\'s key on copies', async () => {
    const from = proxy.requests.length;
    await exercise(open({ kind: 's3-customer-key', key }), undefined);
    const sent = proxy.requests.slice(from).filter((r) => s3Operation(r) !== 'CompleteMultipartUpload' && !s3Operation(r).endsWith('other'));
    const ops = new Set(sent.map(s3Operation));
    for (const op of ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CopyObject', 'UploadPartCopy', 'HeadObject', 'GetObject']) {
      assert.ok(ops.has(op), `${op} was sent: ${[...ops].join(', ')}`);
    }
    for (const r of sent) {
      const op = s3Operation(r);
      assert.equal(r.headers['x-amz-server-side-encryption-customer-algorithm'], 'AES256', `${op} ${r.url}`);
      assert.equal(r.headers['x-amz-server-side-encryption-customer-key'], keyB64, `${op} ${r.url}`);
      assert.equal(r.headers['x-amz-server-side-encryption-customer-key-md5'], keyMd5, `${op} ${r.url}`);
      const copies = op === 'CopyObject' || op === 'UploadPartCopy';
      assert.equal(r.headers['x-amz-copy-source-server-side-encryption-customer-key'], copies ? keyB64 : undefined, `${op} ${r.url}`);
      assert.equal(r.headers['x-amz-storage-class'], undefined);
    }
  });
});

describe('GCS customer-managed and customer-supplied keys, at a recording proxy before fake-gcs-server', () => {
  let proxy: RecordingProxy;
  const prefix = `cbr-e2e/${randomUUID()}/`;
  const open = (encryption: ServerSideEncryption): Backend => createGcsBackend({
    bucket: requireEnv('CBR_GCS_BUCKET'), prefix, apiEndpoint: proxy.endpoint, projectId: 'cbr-test', resumableThreshold: 1 * MiB, encryption,
  });
  before(async () => { proxy = await startRecordingProxy(requireEnv('CBR_GCS_ENDPOINT'), { flavour: 'gcs' }); });
  after(async () => {
    await new Storage({ apiEndpoint: requireEnv('CBR_GCS_ENDPOINT'), projectId: 'cbr-test' }).bucket(requireEnv('CBR_GCS_BUCKET')).deleteFiles({ prefix, force: true });
    await proxy.close();
  });

  const isUpload = (r: RecordedRequest): boolean => r.url.startsWith('/upload/') && r.method === 'POST';
  const isCopy = (r: RecordedRequest): boolean => r.url.includes('/rewriteTo/');

  it('CMEK: kmsKeyName on every upload (single request and resumable), destinationKmsKeyName on every copy', async () => {
    const kms = 'projects/p/locations/europe-west1/keyRings/r/cryptoKeys/backups';
    const from = proxy.requests.length;
    await exercise(open({ kind: 'gcs-kms', keyName: kms }), 'NEARLINE');
    const sent = proxy.requests.slice(from);
    const uploads = sent.filter(isUpload);
    assert.ok(uploads.some((r) => /uploadType=multipart/.test(r.url)) && uploads.some((r) => /uploadType=resumable/.test(r.url)), uploads.map((r) => r.url).join('\n'));
    for (const r of uploads) assert.equal(new URL(r.url, 'http://x').searchParams.get('kmsKeyName'), kms, r.url);
    const copies = sent.filter(isCopy);
    assert.ok(copies.length >= 3);
    for (const r of copies) assert.equal(new URL(r.url, 'http://x').searchParams.get('destinationKmsKeyName'), kms, r.url);
  });

  it('CSEK: the key and its SHA-256 on uploads, reads and stats; source and destination keys on copies', async () => {
    const from = proxy.requests.length;
    await exercise(open({ kind: 'gcs-customer-key', key }), undefined);
    const sent = proxy.requests.slice(from).filter((r) => r.method !== 'PUT' || isUpload(r) || isCopy(r));
    const relevant = sent.filter((r) => isUpload(r) || isCopy(r) || (r.method === 'GET' && r.url.includes('/o/')));
    assert.ok(relevant.length >= 9, `${relevant.length} requests`);
    for (const r of relevant) {
      assert.equal(r.headers['x-goog-encryption-algorithm'], 'AES256', `${r.method} ${r.url}`);
      assert.equal(r.headers['x-goog-encryption-key'], keyB64, `${r.method} ${r.url}`);
      assert.equal(r.headers['x-goog-encryption-key-sha256'], keySha, `${r.method} ${r.url}`);
      if (isCopy(r)) assert.equal(r.headers['x-goog-copy-source-encryption-key'], keyB64, r.url);
    }
  });

  it('a storage class is sent in the metadata of every upload (single request and resumable) and copy', async () => {
    const recording = await startRecordingProxy(requireEnv('CBR_GCS_ENDPOINT'), { flavour: 'gcs', recordBodies: 4096 });
    try {
      const backend = createGcsBackend({ bucket: requireEnv('CBR_GCS_BUCKET'), prefix, apiEndpoint: recording.endpoint, projectId: 'cbr-test', resumableThreshold: 1 * MiB });
      await backend.put('class/small', bytesSource(randomBytes(100)), { storageClass: 'COLDLINE' });
      await backend.put('class/large', bytesSource(randomBytes(2 * MiB)), { storageClass: 'COLDLINE' });
      await backend.copy('class/small', 'class/small-copy', { storageClass: 'COLDLINE' });
      await backend.put('class/plain', bytesSource(randomBytes(100)));
      const carrying = (r: RecordedRequest): boolean => /"storageClass":"COLDLINE"/.test(r.body?.toString('latin1') ?? '');
      const starts = recording.requests.filter((r) => isCopy(r) || (isUpload(r) && !/upload_id=/.test(r.url)));
      assert.equal(starts.length, 4, starts.map((r) => `${r.method} ${r.url}`).join('\n'));
      const [small, large, copied, plain] = starts;
      assert.ok(small && /uploadType=multipart/.test(small.url) && carrying(small), 'the single-request upload');
      assert.ok(large && /uploadType=resumable/.test(large.url) && carrying(large), 'the resumable upload\'s start');
      assert.ok(copied && isCopy(copied) && carrying(copied), 'the rewrite (copy)');
      assert.ok(plain && !carrying(plain), 'an upload without a class sends none');
    } finally {
      await recording.close();
    }
  });

});

describe('Azure encryption scope at a recording proxy before Azurite', () => {
  const prefix = `cbr-e2e/${randomUUID()}/`;
  before(() => testContainer());
  after(() => deleteAzurePrefix(prefix));

  it('x-ms-encryption-scope on Put Blob, Put Block, Put Block List and Copy Blob; not on reads', async () => {
    const proxy = await startRecordingProxy(azureEndpoint(), { flavour: 's3' });
    try {
      const backend = await openAzureBackend(azureConfig(prefix, {
        endpoint: `${proxy.endpoint}/${azureAccount()}`, blockThreshold: 1 * MiB, blockSize: 1 * MiB, encryptionScope: 'cbr-backups',
      }));
      const small = randomBytes(1000);
      await backend.put('scope/small', bytesSource(small));
      await backend.put('scope/large', bytesSource(randomBytes(3 * MiB)));
      await backend.copy('scope/small', 'scope/copy');
      assert.ok((await readAll(await backend.get('scope/copy'))).equals(small));
      const copies = proxy.requests.filter((r) => r.method === 'PUT' && r.headers['x-ms-copy-source'] !== undefined);
      assert.equal(copies.length, 1, 'one Copy Blob');
      const comp = (r: RecordedRequest): string => `${r.method} ${new URL(r.url, 'http://x').searchParams.get('comp') ?? ''}`;
      const writes = proxy.requests.filter((r) => r.method === 'PUT');
      assert.deepEqual([...new Set(writes.map(comp))].sort(), ['PUT ', 'PUT block', 'PUT blocklist']);
      for (const r of writes) assert.equal(r.headers['x-ms-encryption-scope'], 'cbr-backups', `${comp(r)} ${r.url}`);
      for (const r of proxy.requests.filter((q) => q.method !== 'PUT')) assert.equal(r.headers['x-ms-encryption-scope'], undefined, r.url);
    } finally {
      await proxy.close();
    }
  });
});
