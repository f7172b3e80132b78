// The node-facts cache rule (src/cassandra/facts-cache.ts) through createNodetool().info(): describecluster's facts
// are reused only for the same host id, gossip generation and schema files on disk, and read again when any changes.
// A shell script stands in for nodetool, printing Cassandra 5.0's output from files and logging each start; the
// real nodetool and an ALTER KEYSPACE on the real node are covered by test/e2e/node-facts.test.ts.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, writeFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createNodetool } from '../../src/cassandra/nodetool.ts';
import { fileFactsCache, parseGeneration, reusable, schemaFingerprint } from '../../src/cassandra/facts-cache.ts';

const HOST = '8303232f-52ca-4a34-ae84-2888a1f2f821';

const infoText = (hostId: string, generation: number): string => [
  `ID                     : ${hostId}`, 'Gossip active          : true', `Generation No          : ${generation}`,
  'Uptime (seconds)       : 1177', 'Data Center            : datacenter1', 'Rack                   : rack1',
  'Token                  : 4797663217167461119', '',
].join('\n');

const describeText = (version: string, rf: number): string => [
  'Cluster Information:', '\tName: cbr-test', '\tSnitch: org.apache.cassandra.locator.SimpleSnitch',
  '\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner', '\tSchema versions:',
  '\t\t3c1f1d1e-1111-3333-8888-2f5f8f1d2c3b: [127.0.0.1]', '', 'Database versions:', `\t${version}: [127.0.0.1:7000]`, '',
  'Keyspaces:', `\tshop -> Replication class: SimpleStrategy {replication_factor=${rf}}`,
  '\tsystem -> Replication class: LocalStrategy {}', '',
].join('\n');

let dir = '';
let dataDir = '';
let schemaDir = '';
let script = '';

beforeEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(path.join(tmpdir(), 'cbr-facts-'));
  dataDir = path.join(dir, 'data');
  schemaDir = path.join(dataDir, 'system_schema', 'keyspaces-abac5682dea631c5b535b3d6cffd0fb6');
  await mkdir(path.join(schemaDir, 'backups'), { recursive: true });
  await writeFile(path.join(schemaDir, 'nb-1-big-Data.db'), 'schema v1');
  script = path.join(dir, 'nodetool');
  // `info -T` prints info.txt, describecluster describe.txt; every start is logged with its subcommand.
  await writeFile(script, `#!/bin/sh\necho "$1" >> '${dir}/calls.log'\ncase "$1" in\n  info) cat '${dir}/info.txt' ;;\n` +
    `  describecluster) cat '${dir}/describe.txt' ;;\n  *) exit 1 ;;\nesac\n`);
  await chmod(script, 0o755);
  await setNode(HOST, 1796180229, '5.0.8', 1);
});

async function setNode(hostId: string, generation: number, version: string, rf: number): Promise<void> {
  await writeFile(path.join(dir, 'info.txt'), infoText(hostId, generation));
  await writeFile(path.join(dir, 'describe.txt'), describeText(version, rf));
}

/** info() of a fresh nodetool (one per run, as the CLI does) with the cache in `dir`; and the subcommands it started. */
async function runInfo(dataDirs = [dataDir]) {
  await writeFile(path.join(dir, 'calls.log'), '');
  const nodetool = createNodetool({ exec: execa, path: script, connection: {}, passthrough: false,
    factsCache: fileFactsCache(path.join(dir, 'state', 'node-facts.json'), dataDirs) });
  const info = await nodetool.info();
  const calls = (await readFile(path.join(dir, 'calls.log'), 'utf8')).split('\n').filter(Boolean).sort();
  return { info, calls };
}

const rfOf = (info: { keyspaces?: { name: string; options: Readonly<Record<string, string>> }[] }): string | undefined =>
  info.keyspaces?.find((k) => k.name === 'shop')?.options.replication_factor;

describe('node facts cache', () => {
  it('a second run with nothing changed starts only `info` and reports the same facts', async () => {
    const first = await runInfo();
    assert.deepEqual(first.calls, ['describecluster', 'info']);
    const second = await runInfo();
    assert.deepEqual(second.calls, ['info']);
    assert.deepEqual(second.info, first.info);
    assert.equal(second.info.version, '5.0.8');
    assert.equal(second.info.hostId, HOST);
  });

  it('a schema change on disk (a new SSTable of system_schema.keyspaces) makes the replication be read again', async () => {
    await runInfo();
    await setNode(HOST, 1796180229, '5.0.8', 3); // ALTER KEYSPACE shop … replication_factor 3
    await writeFile(path.join(schemaDir, 'nb-2-big-Data.db'), 'schema v2'); // Cassandra flushes the schema table
    const after = await runInfo();
    assert.deepEqual(after.calls, ['describecluster', 'info']);
    assert.equal(rfOf(after.info), '3');
    assert.deepEqual((await runInfo()).calls, ['info'], 'and it is reused again from then on');
  });

  it('a restart (new gossip generation) makes the release version be read again: an upgrade is seen', async () => {
    await runInfo();
    await setNode(HOST, 1796190000, '5.0.9', 1);
    const after = await runInfo();
    assert.deepEqual(after.calls, ['describecluster', 'info']);
    assert.equal(after.info.version, '5.0.9');
  });

  it('another Cassandra host id (a replaced node) reads everything again', async () => {
    await runInfo();
    const other = '11111111-2222-4333-8444-555555555555';
    await setNode(other, 1796180229, '5.0.8', 2);
    const after = await runInfo();
    assert.deepEqual(after.calls, ['describecluster', 'info']);
    assert.equal(after.info.hostId, other);
    assert.equal(rfOf(after.info), '2');
  });

  it('without system_schema under the data directories nothing is reused', async () => {
    const elsewhere = path.join(dir, 'no-schema-here');
    await mkdir(elsewhere, { recursive: true });
    await runInfo([elsewhere]);
    assert.deepEqual((await runInfo([elsewhere])).calls, ['describecluster', 'info']);
  });

  it('a malformed cache file is ignored, and a describecluster that failed is not remembered', async () => {
    await mkdir(path.join(dir, 'state'), { recursive: true });
    await writeFile(path.join(dir, 'state', 'node-facts.json'), '{"hostId": 1');
    assert.deepEqual((await runInfo()).calls, ['describecluster', 'info']);
    await rm(path.join(dir, 'state'), { recursive: true });
    await writeFile(path.join(dir, 'describe.txt'), '');
    const failed = await runInfo();
    assert.equal(failed.info.keyspaces, undefined);
    await setNode(HOST, 1796180229, '5.0.8', 1);
    assert.deepEqual((await runInfo()).calls, ['describecluster', 'info'], 'read again, since nothing was remembered');
  });
});

describe('facts cache parts', () => {
  it('reusable() needs every part known and equal', () => {
    const entry = { hostId: 'h', generation: '1', schema: 's', facts: {} };
    assert.equal(reusable(entry, { hostId: 'h', generation: '1', schema: 's' }), true);
    assert.equal(reusable(entry, { hostId: 'h', generation: '2', schema: 's' }), false);
    assert.equal(reusable(entry, { hostId: 'x', generation: '1', schema: 's' }), false);
    assert.equal(reusable(entry, { hostId: 'h', generation: '1', schema: 't' }), false);
    assert.equal(reusable(entry, { hostId: 'h', generation: '1' }), false);
    assert.equal(reusable(undefined, { hostId: 'h', generation: '1', schema: 's' }), false);
  });

  it('parseGeneration reads "Generation No" of nodetool info', () => {
    assert.equal(parseGeneration(infoText(HOST, 1796180229)), '1796180229');
    assert.equal(parseGeneration('ID : x\n'), undefined);
  });

  it('schemaFingerprint covers the files of keyspaces-*, not its subdirectories, and is undefined without any', async () => {
    const before = await schemaFingerprint([dataDir]);
    assert.ok(before !== undefined);
    await writeFile(path.join(schemaDir, 'backups', 'nb-1-big-Data.db'), 'hard link of a flushed SSTable');
    assert.equal(await schemaFingerprint([dataDir]), before);
    await writeFile(path.join(schemaDir, 'nb-1-big-Data.db'), 'schema v1, rewritten');
    assert.notEqual(await schemaFingerprint([dataDir]), before);
    assert.equal(await schemaFingerprint([path.join(dir, 'nothing')]), undefined);
  });
});
