// `purge` with the real CLI against versitygw (S3) and fake-gcs-server (GCS): three real snapshots and an
// incremental of a small keyspace, then `--keep-last 1` shows, deletes the two older snapshots and their
// objects, keeps everything the kept backups reference, and leaves a young orphan alone until --grace-hours 0.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { baseEnv, runCli, requireEnv, tempDir, jsonEvents } from '../support/run-cli.ts';
import { s3Reader, gcsReader, type StoreReader } from '../support/stores.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { nodetool } from '../support/nodetool.ts';
import { insertSampleRows, sampleKeyspaceForFile } from '../support/cql.ts';

interface StoreCase {
  readonly name: 's3' | 'gcs';
  readonly reader: () => StoreReader;
  /** --dest (and endpoint) arguments for a destination under prefix. */
  readonly destArgs: (prefix: string) => string[];
  readonly env: () => NodeJS.ProcessEnv;
  /** Stores an object directly (not through the CLI): a leftover of a run that never wrote its manifest. */
  readonly plant: (key: string, body: Buffer) => Promise<void>;
}

const cases: StoreCase[] = [
  {
    name: 's3', reader: s3Reader, destArgs: (p) => ['--dest', s3Dest(p)], env: () => s3CliEnv(),
    plant: async (key, body) => {
      const client = new S3Client({
        endpoint: requireEnv('CBR_S3_ENDPOINT'), region: 'us-east-1', forcePathStyle: true,
        credentials: { accessKeyId: requireEnv('CBR_S3_ACCESS_KEY'), secretAccessKey: requireEnv('CBR_S3_SECRET_KEY') },
      });
      await client.send(new PutObjectCommand({ Bucket: requireEnv('CBR_S3_BUCKET'), Key: key, Body: body }));
    },
  },
  {
    name: 'gcs', reader: gcsReader,
    destArgs: (p) => ['--dest', `gs://${requireEnv('CBR_GCS_BUCKET')}/${p}`, '--gcs-endpoint', requireEnv('CBR_GCS_ENDPOINT')],
    env: () => baseEnv({
      CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
      CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('state'),
    }),
    plant: async (key, body) => {
      const storage = new Storage({ apiEndpoint: requireEnv('CBR_GCS_ENDPOINT'), projectId: 'cbr-test-project' });
      await storage.bucket(requireEnv('CBR_GCS_BUCKET')).file(key).save(body, { resumable: false });
    },
  },
];

const keyspace = sampleKeyspaceForFile('cbr_purge', 0);
const nodeId = 'node-purge';

async function writeAndFlush(from: number, count: number): Promise<void> {
  await insertSampleRows(keyspace, from, count);
  nodetool('flush', keyspace);
}

function tagOf(stdout: string): string {
  const summary = jsonEvents(stdout).find((e) => e.type === 'summary');
  assert.ok(summary, `a summary event in: ${stdout}`);
  return String(summary.tag);
}

interface PurgeDoc {
  dryRun: boolean;
  kept: { tag: string; kind: string; reasons: string[] }[];
  expired: { tag: string; kind: string }[];
  objects: { count: number };
  orphans: { count: number; keys: string[] };
  recentOrphans: { count: number; keys: string[] };
  deleted?: { manifests: number; objects: number; orphans: number };
}

for (const c of cases) {
  describe(`purge on ${c.name}`, () => {
    const prefix = uniquePrefix(`purge-${c.name}`);
    const env = c.env();
    const args = [...c.destArgs(prefix), '--node-id', nodeId];
    const store = c.reader();
    const orphan = `${prefix}/${nodeId}/${keyspace}/users-00000000000000000000000000000000/snapshots/failed-run/nb-1-big-Data.db`;
    const snapshotTags: string[] = [];
    let incrementalTag = '';
    const manifests = new Map<string, StoredManifest>();
    const manifestOf = async (tag: string): Promise<StoredManifest> =>
      JSON.parse((await store.get(`${prefix}/${manifestKeyOf(nodeId, tag)}`)).toString('utf8')) as StoredManifest;
    const purge = async (...extra: string[]): Promise<PurgeDoc> => {
      const run = await runCli(['purge', '--keep-last', '1', ...extra, ...args, '--json'], env);
      assert.equal(run.exitCode, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      assert.equal(lines.length, 1, `one JSON document: ${run.stdout}`);
      return JSON.parse(lines[0] ?? '') as PurgeDoc;
    };
    const keysOf = (tags: string[]) => new Set(tags.flatMap((t) => manifests.get(t)?.files.map((f) => `${prefix}/${f.key}`) ?? []));

    after(() => store.deletePrefix(`${prefix}/`));

    it('three snapshots and an incremental are stored, and a failed run left an orphan', async () => {
      for (let i = 0; i < 3; i++) {
        await writeAndFlush(i * 100, 100);
        const run = await runCli(['snapshot', keyspace, ...args, '--json'], env);
        assert.equal(run.exitCode, 0, run.stderr);
        snapshotTags.push(tagOf(run.stdout));
      }
      await writeAndFlush(300, 50);
      const run = await runCli(['incremental', ...args, '--json'], env);
      assert.equal(run.exitCode, 0, run.stderr);
      incrementalTag = tagOf(run.stdout);
      for (const tag of [...snapshotTags, incrementalTag]) manifests.set(tag, await manifestOf(tag));
      assert.equal(new Set(snapshotTags).size, 3);
      await c.plant(orphan, Buffer.from('left by a run that never wrote its manifest'));
    });

    it('purge --keep-last 1 shows what it would delete and deletes nothing', async () => {
      const before = await store.list(`${prefix}/`);
      const doc = await purge();
      assert.equal(doc.dryRun, true);
      assert.deepEqual(doc.expired.map((e) => e.tag).sort(), snapshotTags.slice(0, 2).sort());
      assert.deepEqual(doc.kept.map((k) => k.tag).sort(), [snapshotTags[2], incrementalTag].sort());
      assert.deepEqual(doc.kept.find((k) => k.tag === incrementalTag)?.reasons, ['after-kept-snapshot']);
      assert.ok(doc.objects.count > 0, 'the expired snapshots have objects to delete');
      assert.deepEqual(doc.recentOrphans.keys, [orphan.slice(prefix.length + 1)]);
      assert.equal(doc.orphans.count, 0, 'the orphan is within the grace period');
      assert.deepEqual(await store.list(`${prefix}/`), before);
    });

    it('purge --keep-last 1 --yes deletes the older snapshots and their objects, and nothing a kept backup needs', async () => {
      const doc = await purge('--yes');
      assert.equal(doc.dryRun, false);
      assert.equal(doc.deleted?.manifests, 2);
      const left = await store.list(`${prefix}/`);
      const kept = keysOf([snapshotTags[2] ?? '', incrementalTag]);
      for (const key of kept) assert.ok(left.has(key), `${key} (referenced by a kept backup) survives`);
      for (const key of keysOf(snapshotTags.slice(0, 2))) if (!kept.has(key)) assert.ok(!left.has(key), `${key} deleted`);
      for (const tag of snapshotTags.slice(0, 2)) assert.ok(!left.has(`${prefix}/${manifestKeyOf(nodeId, tag)}`), `manifest ${tag} deleted`);
      for (const tag of [snapshotTags[2] ?? '', incrementalTag]) assert.ok(left.has(`${prefix}/${manifestKeyOf(nodeId, tag)}`), `manifest ${tag} kept`);
      assert.equal(doc.deleted?.objects, doc.objects.count);
      assert.ok(left.has(orphan), 'the young orphan survives the grace period');
    });

    it('--grace-hours 0 removes the orphan and still keeps every object of the kept backups', async () => {
      const doc = await purge('--yes', '--grace-hours', '0');
      assert.deepEqual(doc.orphans.keys, [orphan.slice(prefix.length + 1)]);
      assert.equal(doc.deleted?.orphans, 1);
      assert.equal(doc.expired.length, 0);
      const left = await store.list(`${prefix}/`);
      assert.ok(!left.has(orphan));
      for (const key of keysOf([snapshotTags[2] ?? '', incrementalTag])) assert.ok(left.has(key), `${key} survives`);
    });
  });
}
