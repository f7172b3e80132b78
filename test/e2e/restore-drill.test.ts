// The restore drill of issue 4, on the real node: two tables (one with a secondary index), N rows, `snapshot`,
// M more rows and a flush, `incremental`, TRUNCATE, `restore --until now` into a directory, `nodetool import`
// per table, and CQL counts N+M. Once per bucket layout on S3 (versitygw), and once on GCS (fake-gcs-server).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, jsonEvents, requireEnv, runCli, tempDir } from '../support/run-cli.ts';
import { connect, countRows, createSampleSchema, dropKeyspace, insertRows, uniqueKeyspace, SAMPLE_TABLES } from '../support/cql.ts';
import { nodetool } from '../support/nodetool.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import type { Client } from 'cassandra-driver';

const N = 300;
const M = 200;

interface DrillCase {
  readonly store: 's3' | 'gcs';
  readonly layout: 'seed' | 'dedup';
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

/** The drill itself, for one store and layout. */
export async function restoreDrill(c: DrillCase): Promise<void> {
  const keyspace = uniqueKeyspace(`cbr_drill_${c.store}_${c.layout}`);
  const prefix = uniquePrefix(`drill-${c.store}-${c.layout}`);
  const dest = c.store === 's3' ? s3Dest(prefix) : `gs://${requireEnv('CBR_GCS_BUCKET')}/${prefix}`;
  const env = c.store === 's3' ? s3CliEnv() : gcsEnv();
  const layoutArgs = c.layout === 'seed' ? [] : ['--layout', c.layout];
  const common = ['--dest', dest, '--node-id', `drill-${c.layout}`];
  try {
    await withClient((client) => createSampleSchema(client, keyspace));
    await writeRows(keyspace, 0, N);
    const snap = await runCli(['snapshot', keyspace, ...common, ...layoutArgs, '--json'], env);
    ok(snap, 'snapshot');
    const tag = String(jsonEvents(snap.stdout).find((e) => e.type === 'summary')?.tag);

    await writeRows(keyspace, N, M);
    nodetool('flush', keyspace);
    ok(await runCli(['incremental', ...common, ...layoutArgs], env), 'incremental');

    await withClient(async (client) => {
      for (const table of SAMPLE_TABLES) await client.execute(`TRUNCATE ${keyspace}.${table}`);
      for (const table of SAMPLE_TABLES) assert.equal(await countRows(client, keyspace, table), 0, `${table} truncated`);
    });

    const dir = join(tempDir('drill'), 'restore');
    const restore = await runCli(['restore', tag, '--to', dir, '--until', 'now', '--table', keyspace, ...common, '--json'], env);
    ok(restore, 'restore');
    const result = JSON.parse(restore.stdout.trim().split('\n').at(-1) ?? '') as RestoreResult;
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
  it('GCS (fake-gcs-server), seed layout', () => restoreDrill({ store: 'gcs', layout: 'seed' }));
});
