// The Cassandra layer against the real loopback node (scripts/testenv.sh): real nodetool, real files on disk,
// two data directories. Uses a keyspace unique to this run and drops it at the end.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Client } from 'cassandra-driver';
import { NodetoolError } from '../../src/errors.ts';
import { createNodetool } from '../../src/cassandra/nodetool.ts';
import type { Nodetool } from '../../src/cassandra/nodetool.ts';
import { enumerateBackups, enumerateSnapshot, snapshotExists } from '../../src/cassandra/enumerate.ts';
import { parseDataPath } from '../../src/cassandra/layout.ts';
import { resolveDataDirs } from '../../src/cassandra/data-dirs.ts';
import {
  SAMPLE_INDEX,
  connect,
  createSampleSchema,
  dropKeyspace,
  insertRows,
  requireTestEnv,
  uniqueKeyspace,
} from '../support/cql.ts';

/** Every regular file on disk under `<dataDir>/<ks>/` whose path relative to dataDir satisfies `keep`. */
async function filesOnDisk(dataDirs: readonly string[], keyspace: string, keep: (rel: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  for (const dataDir of dataDirs) {
    const entries = await readdir(path.join(dataDir, keyspace), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const rel = path.relative(dataDir, path.join(entry.parentPath, entry.name));
      if (entry.isFile() && keep(rel)) found.push(`${dataDir}:${rel}`);
    }
  }
  return found.sort();
}

const listed = (files: readonly { dataDir: string; relPath: string }[]): string[] =>
  files.map((f) => `${f.dataDir}:${f.relPath}`).sort();

describe('Cassandra 5 smoke: flush, snapshot, enumerate, info, clearsnapshot', () => {
  let client: Client | undefined;
  let nodetool: Nodetool;
  let dataDirs: string[] = [];
  const keyspace = uniqueKeyspace('cbr_smoke');
  let tag = '';

  before(async () => {
    const nodetoolPath = requireTestEnv('CBR_NODETOOL');
    const port = Number(process.env['CBR_JMX_PORT'] ?? '7199');
    nodetool = createNodetool({ exec: execa, path: nodetoolPath, connection: { host: '127.0.0.1', port }, passthrough: false, timeoutMs: 300_000 });
    dataDirs = requireTestEnv('CBR_DATA_DIRS').split(':');
    client = await connect();
    await createSampleSchema(client, keyspace);
    await insertRows(client, keyspace, 'users', 0, 300);
    await insertRows(client, keyspace, 'events', 0, 300);
  });

  after(async () => {
    if (tag !== '') await nodetool.clearSnapshot(tag, [keyspace]).catch(() => undefined);
    if (client !== undefined) {
      await dropKeyspace(client, keyspace);
      await client.shutdown();
      // Cassandra never removes backups/ hard links, even of a dropped keyspace: leave the shared node clean.
      for (const dataDir of dataDirs) await rm(path.join(dataDir, keyspace), { recursive: true, force: true });
    }
  });

  it('reads both data directories from the test cassandra.yaml', async () => {
    const resolved = await resolveDataDirs({ flags: [], cassandraYaml: requireTestEnv('CBR_CASSANDRA_YAML'), env: {} });
    assert.deepEqual(resolved.dirs, dataDirs);
  });

  it('flush hard-links new SSTables into backups/ of both tables, index included', async () => {
    await nodetool.flush([keyspace]);
    const { files, vanished } = await enumerateBackups(dataDirs, [keyspace]);
    assert.deepEqual(vanished, []);
    const onDisk = await filesOnDisk(dataDirs, keyspace, (rel) => parseDataPath(rel)?.area === 'backup');
    assert.deepEqual(listed(files), onDisk);
    const tables = new Set(files.map((f) => parseDataPath(f.relPath)?.table));
    assert.deepEqual([...tables].sort(), ['events', 'users']);
    assert.ok(files.some((f) => parseDataPath(f.relPath)?.indexDir === `.${SAMPLE_INDEX}`), 'index files in backups/');
  });

  it('snapshot without -t generates a tag; enumerateSnapshot finds exactly the files on disk', async () => {
    const result = await nodetool.snapshot([keyspace]);
    tag = result.tag;
    assert.deepEqual(result.args, ['snapshot', '-t', tag, keyspace]);
    assert.equal(await snapshotExists(dataDirs, tag), true);
    const { files, vanished } = await enumerateSnapshot(dataDirs, tag);
    assert.deepEqual(vanished, []);
    const onDisk = await filesOnDisk(dataDirs, keyspace, (rel) => parseDataPath(rel)?.tag === tag || rel.includes(`/snapshots/${tag}/`));
    assert.deepEqual(listed(files), onDisk);
    const parsed = files.map((f) => parseDataPath(f.relPath));
    assert.ok(parsed.every((p) => p?.area === 'snapshot' && p.tag === tag && p.keyspace === keyspace));
    assert.deepEqual([...new Set(parsed.map((p) => p?.table))].sort(), ['events', 'users']);
    assert.ok(parsed.some((p) => p?.indexDir === `.${SAMPLE_INDEX}` && p.fileName.endsWith('-Data.db')), 'index Data.db');
    for (const name of ['manifest.json', 'schema.cql']) {
      assert.equal(parsed.filter((p) => p?.fileName === name).length, 2, `one ${name} per table`);
    }
  });

  it('a second snapshot with the same tag fails with nodetool’s one-line reason', async () => {
    await assert.rejects(nodetool.snapshot(['-t', tag, keyspace]), (error: unknown) => {
      assert.ok(error instanceof NodetoolError);
      assert.equal(error.message, `nodetool snapshot exited with status 2: Snapshot ${tag} already exists.`);
      assert.equal(error.exitCode, 2);
      assert.doesNotMatch(error.stderrTail, /\tat /);
      return true;
    });
  });

  it('repair on a single node with RF 1 succeeds and says no repair is needed', async () => {
    const result = await nodetool.repair([keyspace]);
    assert.match(result.outputTail, new RegExp(`Replication factor is 1\\. No repair is needed for keyspace '${keyspace}'`));
  });

  it('info() gives host id, cluster name, version and tokens', async () => {
    const info = await nodetool.info();
    assert.match(info.hostId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(info.clusterName, 'cbr-test');
    assert.match(info.version ?? '', /^5\.0\./);
    assert.ok((info.tokens?.length ?? 0) >= 1);
    assert.equal(info.dataCenter, 'datacenter1');
  });

  it('clearSnapshot removes the snapshot', async () => {
    await nodetool.clearSnapshot(tag, [keyspace]);
    assert.equal(await snapshotExists(dataDirs, tag), false);
    assert.deepEqual((await enumerateSnapshot(dataDirs, tag)).files, []);
    tag = '';
  });
});
