// Acceptance of the core mission on each cloud: `cass-backup-run snapshot` with only BUCKET_NAME set detects the
// cloud from instance metadata, runs the real nodetool snapshot and stores every file it produced, byte for byte,
// under <hostname>-<instance_id>/<path relative to the data directory>, with a manifest; then clears the snapshot.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { baseEnv, runCli, requireEnv, tempDir, jsonEvents } from '../support/run-cli.ts';
import { s3Reader, gcsReader, type StoreReader } from '../support/stores.ts';
import { snapshotFiles, dataDirsFromEnv } from '../support/fs-walk.ts';
import { readStoredManifest } from '../support/manifest.ts';
import { nodetool } from '../support/nodetool.ts';
import { sampleKeyspaceForFile, SAMPLE_INDEX } from '../support/cql.ts';
import { crc32cOf, crc32cToBase64 } from '../../src/checksum/crc32c.ts';

interface CloudCase {
  readonly name: 'aws' | 'gcp';
  readonly instanceId: string;
  readonly store: () => StoreReader;
  readonly env: () => Record<string, string>;
}

const shortHost = hostname().split('.')[0] ?? hostname();

const cases: CloudCase[] = [
  {
    name: 'aws', instanceId: 'i-0cbr1234567890abc', store: s3Reader,
    env: () => ({
      AWS_EC2_METADATA_SERVICE_ENDPOINT: requireEnv('CBR_IMDS_ENDPOINT'),
      CASS_BACKUP_S3_ENDPOINT: requireEnv('CBR_S3_ENDPOINT'),
      BUCKET_NAME: requireEnv('CBR_S3_BUCKET'),
    }),
  },
  {
    name: 'gcp', instanceId: '4520031799277581759', store: gcsReader,
    env: () => ({
      GCE_METADATA_HOST: requireEnv('CBR_GCE_METADATA_HOST'),
      CASS_BACKUP_GCS_ENDPOINT: requireEnv('CBR_GCS_ENDPOINT'),
      BUCKET_NAME: requireEnv('CBR_GCS_BUCKET'),
    }),
  },
];

const keyspace = sampleKeyspaceForFile('cbr_snap', 300);



function cliEnv(c: CloudCase): NodeJS.ProcessEnv {
  return baseEnv({
    ...c.env(),
    CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'),
    CASS_BACKUP_STATE_DIR: tempDir('state'),
  });
}

for (const c of cases) {
  describe(`snapshot on ${c.name} (detected from instance metadata, BUCKET_NAME only)`, () => {
    const nodeId = `${shortHost}-${c.instanceId}`;
    const dataDirs = dataDirsFromEnv();

    it('stores every file of the snapshot, in both data directories, byte for byte, with a manifest of exactly those files', async () => {
      const tag = `e2e-${c.name}-keep-${Date.now()}`;
      const run = await runCli(['snapshot', '-t', tag, '--keep-snapshot', '--json'], cliEnv(c));
      assert.equal(run.exitCode, 0, run.stderr);
      try {
        const local = snapshotFiles(dataDirs, tag);
        assert.ok(local.size > 0, 'the snapshot produced files');
        const store = c.store();
        const rels = [...local.keys()];
        assert.ok(rels.some((r) => r.startsWith(`${keyspace}/`)), 'the test keyspace is in the snapshot');
        assert.ok(rels.some((r) => r.includes(`/.${SAMPLE_INDEX}/`)), 'secondary index files are in the snapshot');
        assert.ok(rels.some((r) => r.endsWith('/manifest.json')) && rels.some((r) => r.endsWith('/schema.cql')));
        const usedDirs = new Set([...local.values()].map((abs) => dataDirs.find((d) => abs.startsWith(`${d}/`))));
        assert.equal(usedDirs.size, 2, 'files come from both data directories');
        for (const [rel, abs] of local) {
          const stored = await store.get(`${nodeId}/${rel}`);
          assert.ok(stored.equals(readFileSync(abs)), `bytes of ${rel}`);
        }
        const manifest = await readStoredManifest(store, nodeId, tag);
        assert.deepEqual(manifest.files.map((f) => f.path).sort(), rels.sort());
        assert.equal(manifest.nodeId, nodeId);
        assert.equal(manifest.kind, 'snapshot');
        assert.equal(manifest.cloud.cloud, c.name);
        assert.equal(manifest.cassandra.clusterName, 'cbr-test');
        assert.equal(typeof manifest.cassandra.hostId, 'string');
        const summary = jsonEvents(run.stdout).find((e) => e.type === 'summary');
        assert.equal(summary?.files, local.size);
      } finally {
        nodetool('clearsnapshot', '-t', tag);
      }
    });

    it('clears the local snapshot after a complete upload, and the stored objects match the manifest', async () => {
      const run = await runCli(['snapshot', '--json'], cliEnv(c));
      assert.equal(run.exitCode, 0, run.stderr);
      const summary = jsonEvents(run.stdout).find((e) => e.type === 'summary');
      const tag = String(summary?.tag);
      assert.match(tag, /^cbr-\d{8}T\d{6}Z-/);
      assert.equal(snapshotFiles(dataDirs, tag).size, 0, 'the local snapshot is gone');
      for (const d of dataDirs) assert.ok(existsSync(d));
      const store = c.store();
      const manifest = await readStoredManifest(store, nodeId, tag);
      assert.ok(manifest.files.length > 0);
      for (const f of manifest.files) {
        const bytes = await store.get(f.key);
        assert.equal(bytes.length, f.size, f.key);
        assert.equal(crc32cToBase64(crc32cOf(bytes)), f.crc32c, f.key);
        assert.equal(f.key, `${nodeId}/${f.path}`);
      }
    });
  });
}
