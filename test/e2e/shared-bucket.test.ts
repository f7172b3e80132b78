// A bucket shared by hosts (issue 10, sequences 1 and 2): a purge on another host (its own --state-dir) while a
// backup of the same node id is uploading must not delete what that backup reuses or has already stored; the
// backup must not report success for objects that are gone. Real Cassandra, versitygw and fake-gcs-server; each
// sequence ends in `verify` and, where data is involved, a restore, `nodetool import` and a CQL row count.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, jsonEvents, requireEnv, runCli, startCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { s3Reader, gcsReader, type StoreReader } from '../support/stores.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { insertRandomRows, insertSampleRows, sampleKeyspaceForFile } from '../support/cql.ts';
import { assertRestoreBringsBack, rowCounts } from '../support/restore-check.ts';
import { nodetool } from '../support/nodetool.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { waitForEvent } from '../support/watch.ts';

interface StoreCase {
  readonly name: 's3' | 'gcs';
  readonly reader: () => StoreReader;
  readonly dest: (prefix: string) => string[];
  /** The environment of one host: its own state directory. */
  readonly host: () => NodeJS.ProcessEnv;
}

const cases: StoreCase[] = [
  { name: 's3', reader: s3Reader, dest: (p) => ['--dest', s3Dest(p)], host: () => s3CliEnv({ CASS_BACKUP_STATE_DIR: tempDir('host') }) },
  {
    name: 'gcs', reader: gcsReader,
    dest: (p) => ['--dest', `gs://${requireEnv('CBR_GCS_BUCKET')}/${p}`, '--gcs-endpoint', requireEnv('CBR_GCS_ENDPOINT')],
    host: () => baseEnv({
      CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
      CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('host'),
    }),
  },
];

// A: the keyspace under test; B: another one, whose snapshot becomes the newest so that --keep-last 1 expires A's.
const ksA = sampleKeyspaceForFile('cbr_share_a', 200);
const ksB = sampleKeyspaceForFile('cbr_share_b', 20);
const ksC = sampleKeyspaceForFile('cbr_share_c', 0);
let nextId = 1000;

function ok(run: CliResult, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

function tagOf(run: CliResult): string {
  return String(jsonEvents(run.stdout).find((e) => e.type === 'summary')?.tag);
}

/** About 1.5 MiB of incompressible rows, flushed: enough that --max-rate 256KiB keeps a run busy for seconds. */
async function writeSlowRows(keyspace: string): Promise<number> {
  const count = 1500;
  await insertRandomRows(keyspace, 'users', nextId, count);
  nextId += count;
  nodetool('flush', keyspace);
  return count;
}

interface PurgeDoc {
  deleted?: { manifests: number; objects: number; orphans: number; deferredBy?: string };
}

async function purgeElsewhere(args: string[], env: NodeJS.ProcessEnv, ...extra: string[]): Promise<{ run: CliResult; doc: PurgeDoc }> {
  const run = await runCli(['purge', '--keep-last', '1', '--yes', ...extra, ...args, '--json'], env);
  const doc = JSON.parse(run.stdout.trim().split('\n').find((l) => l.includes('"command":"purge"')) ?? '{}') as PurgeDoc;
  return { run, doc };
}

for (const c of cases) {
  describe(`a bucket shared by hosts (${c.name})`, () => {
    const store = c.reader();
    const prefixes: string[] = [];
    const destFor = (name: string): string[] => {
      const prefix = uniquePrefix(`share-${c.name}-${name}`);
      prefixes.push(prefix);
      return c.dest(prefix);
    };
    after(async () => { for (const p of prefixes) await store.deletePrefix(`${p}/`); });

    it('purge --keep-last 1 --grace-hours 0 on another host while a dedup snapshot uploads: it defers, the snapshot is whole', async () => {
      const nodeId = `share-dedup-${c.name}`;
      const args = [...destFor('dedup'), '--node-id', nodeId, '--layout', 'dedup'];
      const hostA = c.host();
      const hostB = c.host();
      ok(await runCli(['snapshot', ksA, ...args, '--json'], hostA), 'first snapshot of A');
      ok(await runCli(['snapshot', ksB, ...args, '--json'], hostA), 'snapshot of B (the newest)');
      const added = await writeSlowRows(ksA);
      // The third snapshot reuses every object of the first (the same SSTables) and sends the new one slowly.
      const third = startCli(['snapshot', ksA, ...args, '--max-rate', '256KiB', '--concurrency', '1', '--json'], hostA);
      await waitForEvent(third.child, (e) => e.type === 'file' && e.action === 'reused');
      const purge = await purgeElsewhere(args, hostB, '--grace-hours', '0');
      const done = await third.done;
      ok(done, 'the third snapshot');
      assert.equal(purge.run.exitCode, 75, `purge defers while a backup runs: ${purge.run.stderr}`);
      assert.match(purge.run.stderr, /deferred deleting data while a backup is in progress/);
      assert.equal(purge.doc.deleted?.manifests, 1, 'the first snapshot still expires');
      assert.equal(purge.doc.deleted?.objects, 0);
      assert.equal(purge.doc.deleted?.orphans, 0, 'the running snapshot\'s objects are not orphans');
      const tag = tagOf(done);
      ok(await runCli(['verify', tag, ...args], hostB), 'verify of the third snapshot');
      // With no backup running, a purge completes, and still nothing the kept snapshots need goes.
      const later = await purgeElsewhere(args, hostB, '--grace-hours', '0');
      ok(later.run, 'the purge after the snapshot');
      ok(await runCli(['verify', tag, ...args], hostB), 'verify after the second purge');
      assert.ok(((await rowCounts(ksA)).users ?? 0) >= 200 + added);
      await assertRestoreBringsBack({ args, env: hostB, tag, keyspace: ksA, until: false });
    });

    it('purge on another host while `incremental --delete-uploaded` runs: the backup it reuses survives, the rows come back', async () => {
      const nodeId = `share-incr-${c.name}`;
      const args = [...destFor('incr'), '--node-id', nodeId, '--layout', 'dedup'];
      const hostA = c.host();
      const hostB = c.host();
      await insertSampleRows(ksC, 0, 100);
      nodetool('flush', ksC);
      ok(await runCli(['incremental', ...args], hostA), 'first incremental');
      ok(await runCli(['snapshot', ksB, ...args], hostA), 'snapshot of B: the first incremental is now older than every kept snapshot');
      const added = await writeSlowRows(ksC);
      const second = startCli(['incremental', '--delete-uploaded', ...args, '--max-rate', '256KiB', '--concurrency', '1', '--json'], hostA);
      await waitForEvent(second.child, (e) => e.type === 'file' && e.action === 'reused');
      const purge = await purgeElsewhere(args, hostB);
      const done = await second.done;
      ok(done, 'the second incremental');
      assert.equal(purge.run.exitCode, 75, purge.run.stderr);
      const tag = tagOf(done);
      const manifest = JSON.parse((await store.get(`${prefixOf(args)}/${manifestKeyOf(nodeId, tag)}`)).toString()) as StoredManifest;
      for (const f of manifest.files) assert.ok(!existsSync(join(manifest.dataDirs[f.dataDir] ?? '', f.path)), `${f.path} removed locally`);
      ok(await runCli(['verify', tag, '--deep', ...args], hostB), 'verify --deep of the second incremental');
      const snapshotOfB = JSON.parse((await runCli(['list', '--json', ...args], hostB)).stdout) as { backups: { tag: string; kind: string }[] };
      const b = snapshotOfB.backups.find((x) => x.kind === 'snapshot')?.tag ?? '';
      assert.ok(((await rowCounts(ksC)).users ?? 0) >= 100 + added);
      await assertRestoreBringsBack({ args, env: hostB, tag: b, keyspace: ksC, until: true });
    });
  });
}

function prefixOf(args: readonly string[]): string {
  const dest = args[args.indexOf('--dest') + 1] ?? '';
  return dest.replace(/^(s3|gs):\/\/[^/]+\//, '');
}

describe('an object behind the catalog\'s back', () => {
  it('deleted from the store after its backup completed: the next incremental sends it again, never reuses it blindly', async () => {
    const store = s3Reader();
    const prefix = uniquePrefix('share-gone');
    const nodeId = 'share-gone';
    const args = ['--dest', s3Dest(prefix), '--node-id', nodeId];
    const env = s3CliEnv();
    try {
      await insertSampleRows(ksB, 100, 50);
      nodetool('flush', ksB);
      const first = await runCli(['incremental', ...args, '--json'], env);
      ok(first, 'first incremental');
      const manifest = JSON.parse((await store.get(`${prefix}/${manifestKeyOf(nodeId, tagOf(first))}`)).toString()) as StoredManifest;
      const victims = manifest.files.filter((f) => f.path.startsWith(`${ksB}/`)).slice(0, 3).map((f) => `${prefix}/${f.key}`);
      assert.ok(victims.length > 0);
      await store.deleteKeys(victims);
      const second = await runCli(['incremental', ...args, '--json'], env);
      ok(second, 'second incremental');
      assert.match(second.stdout, /not in the store as recorded/);
      const events = jsonEvents(second.stdout).filter((e) => e.type === 'file' && e.action === 'uploaded').map((e) => `${prefix}/${String(e.key)}`);
      for (const v of victims) assert.ok(events.includes(v), `${v} sent again`);
      ok(await runCli(['verify', tagOf(second), ...args], env), 'verify of the second incremental');
    } finally {
      await store.deletePrefix(`${prefix}/`);
    }
  });
});
