// Faults between the real client and the real S3 / GCS servers, injected by a loopback proxy: throttling and
// unavailable answers, connections reset mid-body, a stalled upload, the server gone for 30 seconds. Each run
// must complete with every byte intact (or fail cleanly with no manifest), and leave no incomplete multipart upload.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { S3Client, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { baseEnv, runCli, requireEnv, tempDir, jsonEvents } from '../support/run-cli.ts';
import { s3Reader, gcsReader, type StoreReader } from '../support/stores.ts';
import { uniquePrefix } from '../support/s3-env.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { startFaultProxy, type FaultPlan, type FaultCounts } from '../support/fault-proxy.ts';

const MiB = 1024 * 1024;
const tag = 'faults';
const dataDir = tempDir('data-faults');
const snapDir = join(dataDir, 'ks_faults', 'tbl-0123456789abcdef0123456789abcdef', 'snapshots', tag);
const sha = new Map<string, string>();

before(() => {
  mkdirSync(snapDir, { recursive: true });
  const sizes = [...Array.from({ length: 100 }, (_, i) => 4096 + i * 1531), 18 * MiB + 7, 12 * MiB];
  sizes.forEach((size, i) => {
    const bytes = randomBytes(size);
    const name = `nb-${i + 1}-big-Data.db`;
    writeFileSync(join(snapDir, name), bytes);
    sha.set(name, createHash('sha256').update(bytes).digest('hex'));
  });
});

after(() => rmSync(dataDir, { recursive: true, force: true }));

interface Store {
  readonly name: 's3' | 'gcs';
  readonly target: () => string;
  readonly reader: () => StoreReader;
  readonly dest: (prefix: string) => string;
  readonly endpointFlag: string;
  readonly env: () => Record<string, string>;
}

const stores: Store[] = [
  { name: 's3', target: () => requireEnv('CBR_S3_ENDPOINT'), reader: s3Reader, endpointFlag: '--s3-endpoint',
    dest: (p) => `s3://${requireEnv('CBR_S3_BUCKET')}/${p}`,
    env: () => ({ AWS_ACCESS_KEY_ID: requireEnv('CBR_S3_ACCESS_KEY'), AWS_SECRET_ACCESS_KEY: requireEnv('CBR_S3_SECRET_KEY') }) },
  { name: 'gcs', target: () => requireEnv('CBR_GCS_ENDPOINT'), reader: gcsReader, endpointFlag: '--gcs-endpoint',
    dest: (p) => `gs://${requireEnv('CBR_GCS_BUCKET')}/${p}`, env: () => ({}) },
];

const faults: { name: string; plan: Omit<FaultPlan, 'flavour'>; injected: (c: FaultCounts) => boolean }[] = [
  { name: '5% of requests throttled (503 SlowDown / 429)', plan: { errorRate: 0.05, seed: 7 }, injected: (c) => c.errors > 0 },
  { name: '5% of uploads reset in the middle of the body', plan: { resetRate: 0.05, seed: 11 }, injected: (c) => c.resets > 0 },
  { name: 'one large upload stalls', plan: { stallNth: 1 }, injected: (c) => c.stalls === 1 },
  { name: 'the server is gone for 30 seconds', plan: { outage: { afterRequests: 12, seconds: 30 } }, injected: (c) => c.outageResets > 0 },
];

async function incompleteUploads(prefix: string): Promise<number> {
  const client = new S3Client({ endpoint: requireEnv('CBR_S3_ENDPOINT'), region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: requireEnv('CBR_S3_ACCESS_KEY'), secretAccessKey: requireEnv('CBR_S3_SECRET_KEY') } });
  const r = await client.send(new ListMultipartUploadsCommand({ Bucket: requireEnv('CBR_S3_BUCKET'), Prefix: prefix }));
  return (r.Uploads ?? []).length;
}

export const faultTable: string[] = [];

for (const store of stores) {
  describe(`faults on ${store.name}`, () => {
    for (const fault of faults) {
      it(fault.name, async () => {
        const proxy = await startFaultProxy(store.target(), { flavour: store.name, ...fault.plan });
        const prefix = uniquePrefix(`faults-${store.name}`);
        try {
          const run = await runCli(['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, '--dest', store.dest(prefix),
            store.endpointFlag, proxy.endpoint, '--node-id', 'node-faults', '--multipart-threshold', '8MiB', '--json'],
          baseEnv({ ...store.env(), CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
            CASS_BACKUP_STATE_DIR: tempDir('state'), CASS_BACKUP_IO_TIMEOUT_MS: '5000', CASS_BACKUP_RETRY_DELAY_MS: '500' }), 600_000);
          const reader = store.reader();
          const manifestKey = `${prefix}/${manifestKeyOf('node-faults', tag)}`;
          let lost = 0;
          if (run.exitCode === 0) {
            const manifest = JSON.parse((await reader.get(manifestKey)).toString()) as StoredManifest;
            assert.equal(manifest.files.length, sha.size);
            for (const f of manifest.files) {
              const name = f.path.split('/').pop()!;
              const got = createHash('sha256').update(await reader.get(`${prefix}/${f.key}`)).digest('hex');
              if (got !== sha.get(name)) lost += f.size;
            }
          } else {
            assert.equal(run.exitCode, 4, run.stderr);
            assert.match(run.stderr, /files were not stored/);
            assert.equal((await reader.list(manifestKey)).size, 0, 'no manifest for a failed run');
          }
          if (store.name === 's3') assert.equal(await incompleteUploads(`${prefix}/`), 0, 'no incomplete multipart upload left');
          assert.equal(lost, 0, 'bytes lost');
          const retries = jsonEvents(run.stdout).filter((e) => e.type === 'retry').length;
          faultTable.push(`| ${store.name} | ${fault.name} | ${JSON.stringify(proxy.counts)} | ${run.exitCode === 0 ? 'completed' : `failed cleanly (exit ${run.exitCode})`} | ${retries} | ${lost} |`);
          assert.ok(fault.injected(proxy.counts), `the fault was injected: ${JSON.stringify(proxy.counts)}`);
          assert.equal(run.exitCode, 0, `expected to ride out the fault: ${run.stderr.slice(-2000)}`);
        } finally {
          await proxy.close();
        }
      });
    }
  });
}

after(() => {
  if (faultTable.length > 0) {
    console.log(['| store | injected fault | proxy counts | outcome | retries | bytes lost |', '|---|---|---|---|---|---|', ...faultTable].join('\n'));
  }
});
