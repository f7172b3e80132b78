// The restore drill of issue 4, on the real node: two tables (one with a secondary index), N rows, `snapshot`,
// M more rows and a flush, `incremental` and `verify` of it, TRUNCATE, `--dry-run restore` (plans, writes
// nothing), `restore --until now` into a directory, `nodetool import` per table, and CQL counts N+M. Once per
// bucket layout on S3 (versitygw), and on GCS (fake-gcs-server) and Azure Blob (Azurite). The backdated cases set the mtime of
// what the flush added to before the snapshot (as `cp -p` or `nodetool import` leave it): `--until` must pick
// files by the incremental backup that stored them, not by mtime.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { backupFiles, dataDirsFromEnv } from '../support/fs-walk.ts';
import { baseEnv, jsonEvents, requireEnv, runCli, tempDir } from '../support/run-cli.ts';
import { connect, countRows, createSampleSchema, dropKeyspace, insertRows, uniqueKeyspace, SAMPLE_TABLES } from '../support/cql.ts';
import { nodetool } from '../support/nodetool.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { azureCliEnv, azureDest, testContainer } from '../support/azure-env.ts';
import type { Client } from 'cassandra-driver';

const N = 300;
const M = 200;

interface DrillCase {
  readonly store: 's3' | 'gcs' | 'azure';
  readonly layout: 'seed' | 'dedup';
  /** Give the SSTables flushed after the snapshot an mtime a day before it. */
  readonly backdated?: boolean;
}

interface DryRunResult {
  dryRun: boolean;
  ok: boolean;
  dir: string;
  files: number;
  target: { exists: boolean; empty: boolean; forceNeeded: boolean; forceGiven: boolean; filesPresent: number };
  plan: { key: string; size: number; target: string }[];
}

interface RestoreResult {
  ok: boolean;
  tag: string;
  layout: string;
  incrementalFiles: number;
  tables: { keyspace: string; table: string; path: string; files: number; import: string; schema: string | null }[];
}

function gcsEnv(): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_GCS_ENDPOINT: requireEnv('CBR_GCS_ENDPOINT'), CASS_BACKUP_CLOUD: 'none',
    CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'), CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'),
    CASS_BACKUP_STATE_DIR: tempDir('state'),
  });
}

/** `--layout` exists once the dedup layout has landed; until then the drill runs for the seed layout only. */
async function supportedLayouts(): Promise<DrillCase['layout'][]> {
  const help = await runCli(['snapshot', '--help'], baseEnv());
  return /--layout/.test(help.stdout) && /dedup/.test(help.stdout) ? ['seed', 'dedup'] : ['seed'];
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect();
  try {
    return await fn(client);
  } finally {
    await client.shutdown();
  }
}

async function writeRows(keyspace: string, from: number, count: number): Promise<void> {
  await withClient(async (client) => {
    for (const table of SAMPLE_TABLES) await insertRows(client, keyspace, table, from, count);
  });
}

function ok(run: { exitCode: number; stderr: string; stdout: string }, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

function summaryTag(stdout: string): string {
  return String(jsonEvents(stdout).find((e) => e.type === 'summary')?.tag);
}

/** The files under backups/ of the keyspace's tables, by path relative to their data directory. */
function keyspaceBackups(keyspace: string): Map<string, string> {
  return new Map([...backupFiles(dataDirsFromEnv())].filter(([rel]) => rel.startsWith(`${keyspace}/`)));
}

/** Every regular file under dir, absolute. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
}

/** The last JSON line of a --json run: its result document. */
function lastDocument<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
}

/** The drill itself, for one store and layout. */
export async function restoreDrill(c: DrillCase): Promise<void> {
  const keyspace = uniqueKeyspace(`cbr_drill_${c.store}_${c.layout}`);
  const prefix = uniquePrefix(`drill-${c.store}-${c.layout}`);
  const dest = { s3: () => s3Dest(prefix), gcs: () => `gs://${requireEnv('CBR_GCS_BUCKET')}/${prefix}`, azure: () => azureDest(prefix) }[c.store]();
  const env = { s3: s3CliEnv, gcs: gcsEnv, azure: () => azureCliEnv() }[c.store]();
  if (c.store === 'azure') await testContainer();
  const layoutArgs = c.layout === 'seed' ? [] : ['--layout', c.layout];
  const common = ['--dest', dest, '--node-id', `drill-${c.layout}`];
  try {
    await withClient((client) => createSampleSchema(client, keyspace));
    await writeRows(keyspace, 0, N);
    const snapshotStart = Date.now();
    const snap = await runCli(['snapshot', keyspace, ...common, ...layoutArgs, '--json'], env);
    ok(snap, 'snapshot');
    const tag = summaryTag(snap.stdout);

    const beforeFlush = keyspaceBackups(keyspace);
    await writeRows(keyspace, N, M);
    nodetool('flush', keyspace);
    if (c.backdated) {
      const flushed = [...keyspaceBackups(keyspace)].filter(([rel]) => !beforeFlush.has(rel)).map(([, abs]) => abs);
      assert.ok(flushed.some((f) => f.endsWith('-Data.db')), 'the flush added SSTables to backups/');
      const dayBefore = new Date(snapshotStart - 86_400_000);
      for (const f of flushed) utimesSync(f, dayBefore, dayBefore);
    }
    const incremental = await runCli(['incremental', ...common, ...layoutArgs, '--json'], env);
    ok(incremental, 'incremental');
    ok(await runCli(['verify', summaryTag(incremental.stdout), ...common], env), 'verify of the incremental backup');

    await withClient(async (client) => {
      for (const table of SAMPLE_TABLES) await client.execute(`TRUNCATE ${keyspace}.${table}`);
      for (const table of SAMPLE_TABLES) assert.equal(await countRows(client, keyspace, table), 0, `${table} truncated`);
    });

    const dir = join(tempDir('drill'), 'restore');
    const restoreArgs = ['restore', tag, '--to', dir, '--until', 'now', '--table', keyspace, ...common];
    const dryText = await runCli(['--dry-run', ...restoreArgs], env);
    ok(dryText, 'dry-run restore');
    assert.match(dryText.stdout, /^dry run: restore /);
    assert.ok(dryText.stdout.includes(`target ${dir}: does not exist; the restore would create it`), dryText.stdout);
    const dryJson = await runCli(['--dry-run', ...restoreArgs, '--json'], env);
    ok(dryJson, 'dry-run restore --json');
    const dry = lastDocument<DryRunResult>(dryJson.stdout);
    assert.equal(existsSync(dir), false, 'a dry run creates no directory');
    assert.equal(dry.dryRun, true);
    assert.equal(dry.files, dry.plan.length);
    for (const p of dry.plan) assert.ok(dryText.stdout.includes(`  ${p.key}  `) && dryText.stdout.includes(`→ ${p.target}\n`), p.key);

    const restore = await runCli([...restoreArgs, '--json'], env);
    ok(restore, 'restore');
    const result = lastDocument<RestoreResult>(restore.stdout);
    assert.deepEqual(filesUnder(dir), dry.plan.map((p) => p.target).sort(), 'the dry run listed exactly the files the restore wrote');

    // Into the now non-empty directory: reported, not touched.
    const before = filesUnder(dir).map((f) => [f, statSync(f).mtimeMs, statSync(f).size]);
    const again = await runCli(['--dry-run', ...restoreArgs, '--json'], env);
    ok(again, 'dry-run restore into a non-empty directory');
    assert.deepEqual(lastDocument<DryRunResult>(again.stdout).target,
      { exists: true, empty: false, forceNeeded: true, forceGiven: false, filesPresent: dry.plan.length });
    assert.deepEqual(filesUnder(dir).map((f) => [f, statSync(f).mtimeMs, statSync(f).size]), before);
    assert.equal(result.ok, true);
    assert.equal(result.layout, c.layout, 'the backup was taken in the layout under test');
    assert.ok(result.incrementalFiles > 0, 'the flushed SSTables came from the incremental backup');
    assert.deepEqual(result.tables.map((t) => t.table).sort(), ['events', 'users']);
    for (const t of result.tables) {
      assert.equal(t.keyspace, keyspace);
      assert.ok(readdirSync(t.path).some((f) => f.endsWith('-Data.db')), `${t.path} holds SSTables`);
      assert.ok(t.schema !== null, `${t.table} has its schema.cql`);
      // The command the restore prints is the one that loads it.
      const [cmd, ...args] = t.import.split(' ');
      assert.equal(cmd, 'nodetool');
      nodetool(...args);
    }

    await withClient(async (client) => {
      for (const table of SAMPLE_TABLES) assert.equal(await countRows(client, keyspace, table), N + M, `${table} rows after restore`);
      // The secondary index answers too: import rebuilt it.
      const expected = Array.from({ length: N + M }, (_, id) => id).filter((id) => id % 7 === 3).length;
      const byIndex = await client.execute(`SELECT id FROM ${keyspace}.events WHERE kind = 'kind-3'`, [], { fetchSize: 10_000 });
      assert.equal(byIndex.rowLength, expected, 'rows found through the secondary index');
    });
  } finally {
    await withClient((client) => dropKeyspace(client, keyspace));
  }
}

// Asked once, before the tests are declared, so that each layout is its own test.
const layouts = await supportedLayouts();

describe('restore drill: snapshot + incremental → truncate → restore --until now → nodetool import → all rows back', () => {
  for (const layout of layouts) {
    it(`S3 (versitygw), ${layout} layout`, () => restoreDrill({ store: 's3', layout }));
  }
  it('S3 (versitygw), seed layout, flushed SSTables with mtimes before the snapshot (as cp -p or nodetool import leave them)',
    () => restoreDrill({ store: 's3', layout: 'seed', backdated: true }));
  it('GCS (fake-gcs-server), seed layout, flushed SSTables with mtimes before the snapshot',
    () => restoreDrill({ store: 'gcs', layout: 'seed', backdated: true }));
  it('Azure Blob (Azurite), seed layout, flushed SSTables with mtimes before the snapshot',
    () => restoreDrill({ store: 'azure', layout: 'seed', backdated: true }));
  it('Azure Blob (Azurite), dedup layout', () => restoreDrill({ store: 'azure', layout: 'dedup' }));
});
