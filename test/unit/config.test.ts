import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveGlobalOptions, parseSize } from '../../src/config/options.ts';
import { describeDestination, parseDestination, resolveDestination } from '../../src/config/destination.ts';
import { UsageError } from '../../src/errors.ts';

describe('options', () => {
  it('flag beats environment beats default; the seed variables work', () => {
    const fromEnv = resolveGlobalOptions({}, { BUCKET_NAME: 'b1', REGION: 'eu-west-1', CASS_BACKUP_CONCURRENCY: '3', CASS_BACKUP_DATA_DIRS: '/a:/b' });
    assert.equal(fromEnv.bucket, 'b1');
    assert.equal(fromEnv.region, 'eu-west-1');
    assert.equal(fromEnv.concurrency, 3);
    assert.deepEqual(fromEnv.dataDirs, ['/a', '/b']);
    const flag = resolveGlobalOptions({ bucket: 'b2', concurrency: 5 }, { BUCKET_NAME: 'b1', CASS_BACKUP_CONCURRENCY: '3' });
    assert.equal(flag.bucket, 'b2');
    assert.equal(flag.concurrency, 5);
    const defaults = resolveGlobalOptions({}, {});
    assert.equal(defaults.region, 'us-east-1');
    assert.equal(defaults.cloud, 'auto');
    assert.equal(defaults.layout, 'seed');
    assert.equal(defaults.multipartThreshold, 64 * 1024 * 1024);
  });

  it('rejects bad values with the option name', () => {
    assert.throws(() => resolveGlobalOptions({ concurrency: 0 }, {}), /^UsageError: --concurrency: expected a positive integer, got 0$/);
    assert.throws(() => resolveGlobalOptions({ concurrency: 'abc' }, {}), /--concurrency: expected a positive integer, got "abc"/);
    assert.throws(() => resolveGlobalOptions({ 'nodetool-port': 'x' }, {}), /--nodetool-port: expected a port number \(1-65535\), got "x"/);
    assert.throws(() => resolveGlobalOptions({}, { CASS_BACKUP_CONCURRENCY: 'x' }), /CASS_BACKUP_CONCURRENCY \(for --concurrency\): expected a positive integer, got "x"/);
    assert.throws(() => resolveGlobalOptions({}, { CASS_BACKUP_CLOUD: 'oracle' }), /CASS_BACKUP_CLOUD \(for --cloud\): expected one of auto, aws, gcp, azure, none, got "oracle"/);
    assert.throws(() => resolveGlobalOptions({ cloud: 'oracle' }, {}), /--cloud: expected one of auto, aws, gcp, azure, none, got "oracle"/);
    assert.throws(() => resolveGlobalOptions({}, { CASS_BACKUP_DRY_RUN: 'maybe' }), /expected true or false, got "maybe"/);
    assert.throws(() => resolveGlobalOptions({ 'max-rate': '0' }, {}), /--max-rate: expected a rate more than 0/);
    assert.throws(() => resolveGlobalOptions({ 'min-free-disk': '120%' }, {}), /--min-free-disk: expected a percentage of at most 100% or a size/);
    assert.equal(resolveGlobalOptions({ 'max-rate': '2MiB/s', 'min-free-disk': '10GiB' }, {}).maxRate, 2 * 1024 * 1024);
  });

  it('parses sizes', () => {
    assert.equal(parseSize('x', '64MiB'), 64 * 1024 * 1024);
    assert.equal(parseSize('x', '5mb'), 5_000_000);
    assert.equal(parseSize('x', '1048576'), 1048576);
    assert.throws(() => parseSize('x', 'lots'), UsageError);
  });
});

describe('destination', () => {
  it('parses s3, gs and file URLs', () => {
    assert.deepEqual(parseDestination('s3://my-bucket/a/b/'), { scheme: 's3', bucket: 'my-bucket', prefix: 'a/b' });
    assert.deepEqual(parseDestination('gs://my_bucket'), { scheme: 'gs', bucket: 'my_bucket', prefix: '' });
    assert.deepEqual(parseDestination('file:///var/backups/'), { scheme: 'file', path: '/var/backups' });
  });

  it('parses az://account/container/prefix and checks Azure\'s naming rules', () => {
    assert.deepEqual(parseDestination('az://devstoreaccount1/backups/prod/dc1/'),
      { scheme: 'az', account: 'devstoreaccount1', bucket: 'backups', prefix: 'prod/dc1' });
    assert.deepEqual(parseDestination('az://acct/cont'), { scheme: 'az', account: 'acct', bucket: 'cont', prefix: '' });
    assert.equal(describeDestination(parseDestination('az://acct/cont/p/q')), 'az://acct/cont/p/q');
    assert.throws(() => parseDestination('az://Acct/cont'), /invalid Azure storage account "Acct"/);
    assert.throws(() => parseDestination('az://acct'), /invalid Azure container name ""/);
    assert.throws(() => parseDestination('az://acct/a--b'), /invalid Azure container name "a--b"/);
    assert.throws(() => parseDestination('az://acct/cont/a//b'), /prefix has an empty segment/);
  });

  it('rejects what cannot work', () => {
    assert.throws(() => parseDestination('ftp://x'), /must start with s3:\/\/, gs:\/\/, az:\/\/ or file:\/\//);
    assert.throws(() => parseDestination('s3://Bad_Bucket'), /invalid bucket name "Bad_Bucket"/);
    assert.throws(() => parseDestination('s3://ab'), /invalid bucket name/);
    assert.throws(() => parseDestination('file://relative/path'), /absolute path/);
  });

  it('refuses an empty, "." or ".." segment in a prefix or path; one trailing slash is fine', () => {
    for (const [url, what] of [
      ['s3://bkt/a//b', 'prefix has an empty segment'], ['s3://bkt//a', 'prefix has an empty segment'],
      ['s3://bkt//', 'prefix has an empty segment'], ['s3://bkt/a/b//', 'prefix has an empty segment'],
      ['gs://bkt/./x', 'prefix has a "." segment'], ['s3://bucket/../x', 'prefix has a ".." segment'], ['gs://bkt/a/..', 'prefix has a ".." segment'],
      ['file:///a//b', 'path has an empty segment'], ['file:///a/../b', 'path has a ".." segment'], ['file:///a/./b', 'path has a "." segment'],
      ['file:////', 'path has an empty segment'], ['file:///x//', 'path has an empty segment'],
    ] as const) {
      assert.throws(() => parseDestination(url), (err: unknown) =>
        err instanceof UsageError && err.message.startsWith(`--dest ${url}: the ${what}`) && !err.message.includes('\n'), url);
    }
    assert.deepEqual(parseDestination('s3://bkt/prefix/'), { scheme: 's3', bucket: 'bkt', prefix: 'prefix' });
    assert.deepEqual(parseDestination('s3://bkt/'), { scheme: 's3', bucket: 'bkt', prefix: '' });
    assert.deepEqual(parseDestination('gs://bkt/a/b.c/d..e/'), { scheme: 'gs', bucket: 'bkt', prefix: 'a/b.c/d..e' });
    assert.deepEqual(parseDestination('file:///x/'), { scheme: 'file', path: '/x' });
    assert.deepEqual(parseDestination('file:///'), { scheme: 'file', path: '/' });
  });

  it('BUCKET_NAME goes to the detected cloud; no cloud means a clear error', () => {
    assert.deepEqual(resolveDestination({ bucket: 'bkt', cloud: 'aws' }), { scheme: 's3', bucket: 'bkt', prefix: '' });
    assert.deepEqual(resolveDestination({ bucket: 'bkt', cloud: 'gcp' }), { scheme: 'gs', bucket: 'bkt', prefix: '' });
    assert.throws(() => resolveDestination({ bucket: 'bkt', cloud: 'none' }), /no cloud was detected/);
    assert.deepEqual(resolveDestination({ bucket: 'bkt', cloud: 'azure', azureAccount: 'acct1' }),
      { scheme: 'az', account: 'acct1', bucket: 'bkt', prefix: '' });
    assert.throws(() => resolveDestination({ bucket: 'bkt', cloud: 'azure' }), /storage account is missing: set AZURE_STORAGE_ACCOUNT/);
    assert.throws(() => resolveDestination({ cloud: 'aws' }), /no destination/);
    assert.deepEqual(resolveDestination({ dest: 'file:///x', bucket: 'ignored', cloud: 'aws' }), { scheme: 'file', path: '/x' });
  });
});
