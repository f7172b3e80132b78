// The Azure Blob adapter against Azurite on loopback.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StorageError } from '../../src/errors.ts';
import { withRetries } from '../../src/storage/retry.ts';
import { openAzureBackend } from '../../src/storage/azure.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { MiB, collect, readAll, runBackendContract } from '../support/backend-contract.ts';
import { startRecordingProxy } from '../support/recording-proxy.ts';
import { azureAccount, azureConfig, azureEndpoint, deleteAzurePrefix, testContainer } from '../support/azure-env.ts';

runBackendContract('azure (Azurite)', async () => {
  await testContainer();
  const prefix = `cbr-e2e/${randomUUID()}/`;
  // A threshold below the contract's 2 MiB and large sizes, and small blocks: several parallel blocks per file.
  const backend = await openAzureBackend(azureConfig(prefix, { blockThreshold: 1 * MiB, blockSize: 1 * MiB }));
  return { backend, cleanup: () => deleteAzurePrefix(prefix) };
});

describe('azure adapter specifics (Azurite)', () => {
  const prefix = `cbr-e2e/${randomUUID()}/`;
  before(() => testContainer());
  after(() => deleteAzurePrefix(prefix));

  it('a missing container is a permanent StorageError naming NoSuchBucket', async () => {
    const missing = `cbr-missing-${randomUUID().slice(0, 8)}`;
    const backend = await openAzureBackend(azureConfig('', { container: missing, blockThreshold: 1 * MiB, blockSize: 1 * MiB }));
    const attempts = [
      () => backend.put('small', bytesSource(Buffer.from('x'))),
      () => backend.put('large', bytesSource(randomBytes(2 * MiB))),
      () => backend.listDirs(''),
      () => backend.stat('any'),
    ];
    for (const attempt of attempts) {
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(err instanceof StorageError, `got ${String(err)}`);
        assert.equal(err.permanent, true);
        assert.match(err.message, new RegExp(`Azure container "${missing}" does not exist .*\\(NoSuchBucket\\)`));
        return true;
      });
    }
  });

  it('a wrong account key is a permanent StorageError (exit 2), not retried', async () => {
    const backend = await openAzureBackend(azureConfig(prefix, { credential: { kind: 'account-key', accountKey: Buffer.from('wrong').toString('base64') } }));
    await assert.rejects(backend.put('denied', bytesSource(Buffer.from('x'))), (err: unknown) => {
      assert.ok(err instanceof StorageError, `got ${String(err)}`);
      assert.equal(err.permanent, true);
      assert.match(err.message, /Azure denied upload/);
      return true;
    });
  });

  it('stores the object in the tier a put names (Cool), and the default tier otherwise', async () => {
    const backend = await openAzureBackend(azureConfig(prefix));
    await backend.put('tier/cool.bin', bytesSource(randomBytes(1000)), { storageClass: 'Cool' });
    await backend.put('tier/default.bin', bytesSource(randomBytes(1000)));
    const container = await testContainer();
    const cool = await container.getBlobClient(`${prefix}tier/cool.bin`).getProperties();
    const plain = await container.getBlobClient(`${prefix}tier/default.bin`).getProperties();
    assert.equal(cool.accessTier, 'Cool');
    assert.notEqual(plain.accessTier, 'Cool');
    assert.ok((await readAll(await backend.get('tier/cool.bin'))).length === 1000);
  });

  it('purge deletes in Blob Batch requests of at most 256 deletes', async () => {
    const proxy = await startRecordingProxy(azureEndpoint(), { flavour: 's3' });
    try {
      const backend = await openAzureBackend(azureConfig(prefix, { endpoint: `${proxy.endpoint}/${azureAccount()}` }));
      const keys = Array.from({ length: 300 }, (_, i) => `batch/k${i}`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => backend.put(k, bytesSource(Buffer.from(k)))));
      const before = proxy.requests.length;
      await backend.delete([...keys, 'batch/never-existed']);
      const sent = proxy.requests.slice(before);
      assert.deepEqual(sent.map((r) => `${r.method} ${new URL(r.url, 'http://x').searchParams.get('comp')}`),
        ['POST batch', 'POST batch'], 'two batches, no single deletes');
      assert.deepEqual(await collect(backend.list('batch/')), []);
    } finally {
      await proxy.close();
    }
  });

  it('where the server refuses Blob Batch, deletes fall back to one request per blob', async () => {
    const proxy = await startRecordingProxy(azureEndpoint(), {
      flavour: 's3',
      answer: (r) => (new URL(r.url, 'http://x').searchParams.get('comp') === 'batch'
        ? { status: 400, headers: { 'x-ms-error-code': 'FeatureNotSupported', 'content-type': 'application/xml' },
          body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>FeatureNotSupported</Code><Message>no batch</Message></Error>' }
        : undefined),
    });
    try {
      const backend = await openAzureBackend(azureConfig(prefix, { endpoint: `${proxy.endpoint}/${azureAccount()}` }));
      const keys = Array.from({ length: 40 }, (_, i) => `single/k${i}`);
      await Promise.all(keys.map((k) => backend.put(k, bytesSource(Buffer.from(k)))));
      const before = proxy.requests.length;
      await backend.delete([...keys, 'single/never-existed']);
      await backend.delete(['single/k0']); // the refusal is remembered: no second batch request
      const sent = proxy.requests.slice(before);
      assert.equal(sent.filter((r) => r.method === 'POST').length, 1, 'one refused batch request');
      assert.equal(sent.filter((r) => r.method === 'DELETE').length, keys.length + 2);
      assert.deepEqual(await collect(backend.list('single/')), []);
    } finally {
      await proxy.close();
    }
  });
});

describe('azure throttling (503 ServerBusy from a proxy before Azurite)', () => {
  const prefix = `cbr-e2e/${randomUUID()}/`;
  before(() => testContainer());
  after(() => deleteAzurePrefix(prefix));

  it('is retried, by the SDK and then by the retry decorator, until the upload is stored', async () => {
    let refused = 0;
    const proxy = await startRecordingProxy(azureEndpoint(), {
      flavour: 's3',
      answer: (r) => (r.method === 'PUT' && refused++ < 4
        ? { status: 503, headers: { 'x-ms-error-code': 'ServerBusy', 'content-type': 'application/xml' },
          body: '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>busy</Message></Error>' }
        : undefined),
    });
    try {
      const retries: unknown[] = [];
      const backend = withRetries(await openAzureBackend(azureConfig(prefix, { endpoint: `${proxy.endpoint}/${azureAccount()}` })),
        { attempts: 5, baseDelayMs: 1, maxDelayMs: 5, onRetry: (_w, _a, err) => retries.push(err) });
      const data = randomBytes(5000);
      await backend.put('busy/a', bytesSource(data));
      assert.ok((await readAll(await backend.get('busy/a'))).equals(data));
      assert.equal(refused, 5, 'four refusals, then the stored one');
      assert.ok(retries.length >= 1, 'the SDK gave up once and the decorator retried');
      assert.ok(retries.every((e) => e instanceof StorageError && !e.permanent && /ServerBusy/.test(e.message)), String(retries[0]));
    } finally {
      await proxy.close();
    }
  });
});

describe('azure credentials', () => {
  it('the token chain against an http endpoint is a permanent, one-line configuration error (no request sent)', async () => {
    const backend = await openAzureBackend(azureConfig('cbr-e2e/none/', { credential: { kind: 'default-chain' } }));
    await assert.rejects(backend.listDirs(''), (err: unknown) => {
      assert.ok(err instanceof StorageError && err.permanent, `got ${String(err)}`);
      assert.match(err.message, /needs an https endpoint.*AZURE_STORAGE_KEY/);
      return true;
    });
  });
});
