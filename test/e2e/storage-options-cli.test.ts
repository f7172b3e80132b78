// The encryption and storage-class options end to end: a real snapshot of a real keyspace through the CLI, with a
// recording proxy before versitygw. Data objects carry the storage class, the manifest (a catalog record) does
// not; every request carries the SSE-C key; the manifest records what was applied, and only the key's SHA-256;
// verify --deep and restore read the backup back with the key. Options of another store are refused (exit 2).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleKeyspaceForFile } from '../support/cql.ts';
import { readStoredManifest } from '../support/manifest.ts';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.ts';
import { jsonEvents, requireEnv, runCli, tempDir } from '../support/run-cli.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { s3Reader } from '../support/stores.ts';

const keyspace = sampleKeyspaceForFile('cbr_sse_cli', 50);

describe('--sse-c-key and --storage-class through the CLI (recording proxy before versitygw)', () => {
  const prefix = uniquePrefix('sse-cli');
  const nodeId = 'sse-node';
  const key = randomBytes(32);
  let keyFile = '';
  let proxy: RecordingProxy;
  before(async () => {
    proxy = await startRecordingProxy(requireEnv('CBR_S3_ENDPOINT'), { flavour: 's3' });
    keyFile = join(tempDir('sse-key'), 'backup.key');
    writeFileSync(keyFile, `${key.toString('base64')}\n`, { mode: 0o600 });
  });
  after(async () => {
    await s3Reader().deletePrefix(`${prefix}/`);
    await proxy.close();
  });

  it('snapshot: data in STANDARD_IA, the manifest in the default class, SSE-C on every request; recorded without the key', async () => {
    const env = s3CliEnv({ CASS_BACKUP_S3_ENDPOINT: proxy.endpoint });
    const common = ['--dest', s3Dest(prefix), '--node-id', nodeId, '--sse-c-key', keyFile];
    const snap = await runCli(['snapshot', keyspace, ...common, '--storage-class', 'standard_ia', '--json'], env);
    assert.equal(snap.exitCode, 0, snap.stderr);
    const tag = String(jsonEvents(snap.stdout).find((e) => e.type === 'summary')?.tag);

    const puts = proxy.requests.filter((r) => r.method === 'PUT' || (r.method === 'POST' && r.url.includes('uploads')));
    const isCatalog = (url: string): boolean => decodeURIComponent(url).includes('/.cass-backup-run/');
    const data = puts.filter((r) => !isCatalog(r.url));
    const catalog = puts.filter((r) => isCatalog(r.url));
    assert.ok(data.some((r) => r.url.includes('-Data.db')), 'SSTables were stored');
    assert.ok(catalog.some((r) => decodeURIComponent(r.url).includes(`/.cass-backup-run/manifests/${tag}.json`)), 'the manifest was stored');
    for (const r of data) assert.equal(r.headers['x-amz-storage-class'], 'STANDARD_IA', r.url);
    for (const r of catalog) assert.equal(r.headers['x-amz-storage-class'], undefined, `a catalog record keeps the default class: ${r.url}`);
    const md5 = createHash('md5').update(key).digest('base64');
    // Every request on an object (not listings or batch deletes, which carry no object bytes).
    const onObjects = proxy.requests.filter((q) => q.method !== 'DELETE' && new URL(q.url, 'http://x').pathname.startsWith(`/${requireEnv('CBR_S3_BUCKET')}/${prefix}/`));
    assert.ok(onObjects.length > 5);
    for (const r of onObjects) {
      assert.equal(r.headers['x-amz-server-side-encryption-customer-key-md5'], md5, `${r.method} ${r.url}`);
    }

    const manifestText = (await s3Reader().get(`${prefix}/${nodeId}/.cass-backup-run/manifests/${tag}.json`)).toString('utf8');
    const manifest = await readStoredManifest(s3Reader(), `${prefix}/${nodeId}`, tag) as unknown as { storedAs?: unknown };
    assert.deepEqual(manifest.storedAs, {
      encryption: { type: 'SSE-C', keySha256: createHash('sha256').update(key).digest('base64') }, storageClass: 'STANDARD_IA',
    });
    assert.ok(!manifestText.includes(key.toString('base64')), 'the key itself is never recorded');

    const from = proxy.requests.length;
    const verify = await runCli(['verify', tag, '--deep', ...common], env);
    assert.equal(verify.exitCode, 0, verify.stderr);
    const restore = await runCli(['restore', tag, '--to', join(tempDir('sse-restore'), 'r'), ...common], env);
    assert.equal(restore.exitCode, 0, restore.stderr);
    const reads = proxy.requests.slice(from).filter((r) => r.method === 'GET' && !new URL(r.url, 'http://x').searchParams.has('list-type'));
    assert.ok(reads.length > 0);
    for (const r of reads) assert.equal(r.headers['x-amz-server-side-encryption-customer-key-md5'], md5, r.url);
  });

  it('an option of another store than the destination\'s is refused before anything runs (exit 2, one line)', async () => {
    const run = await runCli(['snapshot', keyspace, '--dest', `gs://${requireEnv('CBR_GCS_BUCKET')}/${prefix}`, '--sse', 'aws:kms'], s3CliEnv());
    assert.equal(run.exitCode, 2, run.stderr);
    assert.match(run.stderr, /--sse applies to s3:\/\/ destinations, not gs:\/\//);
    const badClass = await runCli(['snapshot', keyspace, '--dest', s3Dest(prefix), '--storage-class', 'NEARLINE'], s3CliEnv());
    assert.equal(badClass.exitCode, 2, badClass.stderr);
    assert.match(badClass.stderr, /"NEARLINE" is not a storage class of s3:\/\//);
  });
});
