// Server-side encryption and storage-class options: checked against the destination's kind, keys read from their
// files, and what the manifest records of them (never a key). Catalog records never get a storage class.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/errors.ts';
import {
  checkedStorageClass, encryptionRecord, parseKeyFile, serverSideEncryption, storedAs, type ServerSideOptions,
} from '../../src/storage/server-side.ts';
import { isCatalogKey, withDataStorageClass } from '../../src/storage/storage-class.ts';
import { createLocalBackend } from '../../src/storage/local.ts';
import { bytesSource } from '../../src/storage/source.ts';
import type { Backend, PutOptions } from '../../src/storage/backend.ts';

const none: ServerSideOptions = {
  sse: undefined, sseKmsKeyId: undefined, sseCKeyFile: undefined, gcsKmsKey: undefined, gcsEncryptionKeyFile: undefined,
  azureEncryptionScope: undefined, storageClass: undefined,
};
const key = randomBytes(32);
const readKey = (): Buffer => Buffer.from(`${key.toString('base64')}\n`);
const noRead = (): Buffer => assert.fail('no key file may be read');

describe('server-side encryption options', () => {
  it('builds each store\'s encryption, reading key files', () => {
    assert.equal(serverSideEncryption('s3', none, noRead), undefined);
    assert.deepEqual(serverSideEncryption('s3', { ...none, sse: 'aws:kms', sseKmsKeyId: 'alias/backups' }, noRead), { kind: 's3-kms', keyId: 'alias/backups' });
    assert.deepEqual(serverSideEncryption('s3', { ...none, sse: 'aws:kms' }, noRead), { kind: 's3-kms', keyId: undefined });
    assert.deepEqual(serverSideEncryption('s3', { ...none, sse: 'AES256' }, noRead), { kind: 's3-aes256' });
    assert.deepEqual(serverSideEncryption('s3', { ...none, sseCKeyFile: '/k' }, readKey), { kind: 's3-customer-key', key });
    assert.deepEqual(serverSideEncryption('gs', { ...none, gcsKmsKey: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' }, noRead),
      { kind: 'gcs-kms', keyName: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' });
    assert.deepEqual(serverSideEncryption('gs', { ...none, gcsEncryptionKeyFile: '/k' }, readKey), { kind: 'gcs-customer-key', key });
    assert.deepEqual(serverSideEncryption('az', { ...none, azureEncryptionScope: 'backups' }, noRead), { kind: 'azure-scope', scope: 'backups' });
  });

  it('refuses an option of another store than the destination\'s, and contradictory ones', () => {
    const refused = (re: RegExp) => (err: unknown) => err instanceof UsageError && re.test(err.message);
    assert.throws(() => serverSideEncryption('gs', { ...none, sse: 'aws:kms' }, noRead), refused(/--sse applies to s3:\/\/ destinations, not gs:\/\//));
    assert.throws(() => serverSideEncryption('az', { ...none, gcsKmsKey: 'k' }, noRead), refused(/--gcs-kms-key applies to gs:\/\//));
    assert.throws(() => serverSideEncryption('file', { ...none, azureEncryptionScope: 's' }, noRead), refused(/--azure-encryption-scope applies to az:\/\//));
    assert.throws(() => serverSideEncryption('s3', { ...none, sse: 'aws:kms', sseCKeyFile: '/k' }, readKey), refused(/cannot be combined/));
    assert.throws(() => serverSideEncryption('s3', { ...none, sseKmsKeyId: 'k' }, noRead), refused(/--sse-kms-key-id needs --sse aws:kms/));
    assert.throws(() => serverSideEncryption('gs', { ...none, gcsKmsKey: 'k', gcsEncryptionKeyFile: '/k' }, readKey), refused(/cannot be combined/));
  });

  it('a key file must hold 256 bits, base64 or raw', () => {
    assert.deepEqual(parseKeyFile('--sse-c-key', '/k', key), key);
    assert.deepEqual(parseKeyFile('--sse-c-key', '/k', Buffer.from(` ${key.toString('base64')}\n`)), key);
    assert.throws(() => parseKeyFile('--sse-c-key', '/k', Buffer.from(randomBytes(16).toString('base64'))), /expected a 256-bit key/);
    assert.throws(() => parseKeyFile('--sse-c-key', '/k', Buffer.from('not base64!')), /expected a 256-bit key/);
  });

  it('the manifest records the encryption without the key: a customer key by its SHA-256 only', () => {
    const sha = createHash('sha256').update(key).digest('base64');
    assert.deepEqual(encryptionRecord({ kind: 's3-customer-key', key }), { type: 'SSE-C', keySha256: sha });
    assert.deepEqual(encryptionRecord({ kind: 'gcs-customer-key', key }), { type: 'gcs-csek', keySha256: sha });
    assert.deepEqual(encryptionRecord({ kind: 's3-kms', keyId: 'k1' }), { type: 'aws:kms', keyId: 'k1' });
    assert.deepEqual(encryptionRecord({ kind: 'azure-scope', scope: 's' }), { type: 'azure-encryption-scope', scope: 's' });
    const recorded = JSON.stringify(storedAs({ kind: 's3-customer-key', key }, 'STANDARD_IA'));
    assert.ok(!recorded.includes(key.toString('base64')) && !recorded.includes(key.toString('hex')), recorded);
    assert.deepEqual(storedAs(undefined, 'Cool'), { storageClass: 'Cool' });
    assert.equal(storedAs(undefined, undefined), undefined);
  });
});

describe('storage classes', () => {
  it('are checked per store and spelled as the store spells them', () => {
    assert.equal(checkedStorageClass('s3', 'standard_ia'), 'STANDARD_IA');
    assert.equal(checkedStorageClass('gs', 'nearline'), 'NEARLINE');
    assert.equal(checkedStorageClass('az', 'cool'), 'Cool');
    assert.equal(checkedStorageClass('az', undefined), undefined);
    assert.throws(() => checkedStorageClass('gs', 'GLACIER'), /"GLACIER" is not a storage class of gs:\/\/ \(one of STANDARD, NEARLINE, COLDLINE, ARCHIVE\)/);
    assert.throws(() => checkedStorageClass('file', 'Cool'), /file:\/\/ destination has no storage classes/);
  });

  it('apply to data objects and copies, never to catalog records', async (t) => {
    assert.equal(isCatalogKey('node1/.cass-backup-run/manifests/t.json'), true);
    assert.equal(isCatalogKey('.cass-backup-run/clusters/c/id/cluster-manifest.json'), true);
    assert.equal(isCatalogKey('node1/ks/t-1/snapshots/x/nb-1-big-Data.db'), false);
    assert.equal(isCatalogKey('node1/.sstables/ks/t-1/nb-1-big-Data.db'), false);
    const seen: [string, string | undefined][] = [];
    const root = mkdtempSync(join(tmpdir(), 'cbr-sc-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const inner = createLocalBackend({ root });
    const spy: Backend = {
      ...inner,
      put: (k, s, o?: PutOptions) => { seen.push([k, o?.storageClass]); return inner.put(k, s, o); },
      copy: (f, t, o) => { seen.push([t, o?.storageClass]); return inner.copy(f, t, o); },
    };
    const b = withDataStorageClass(spy, 'GLACIER_IR');
    await b.put('n/ks/t-1/backups/a-Data.db', bytesSource(Buffer.from('a')));
    await b.put('n/.cass-backup-run/manifests/x.json', bytesSource(Buffer.from('{}')), { createOnly: true });
    await b.copy('n/ks/t-1/backups/a-Data.db', 'n/ks/t-1/snapshots/s/a-Data.db');
    assert.deepEqual(seen, [
      ['n/ks/t-1/backups/a-Data.db', 'GLACIER_IR'], ['n/.cass-backup-run/manifests/x.json', undefined],
      ['n/ks/t-1/snapshots/s/a-Data.db', 'GLACIER_IR'],
    ]);
  });
});
