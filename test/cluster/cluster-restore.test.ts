// Issue 13's acceptance on the three-node loopback cluster: rows at RF 3 and RF 2, a cluster backup taken by every
// node; (a) the whole cluster lost (data, commit logs, system keyspaces), three fresh nodes restored with
// `restore --cluster --as auto` before their first start and started with the planned tokens: every row counted at
// consistency ALL; (b) the same backup onto a fresh cluster of two nodes through Cassandra's bulk loader, the schema
// recreated by `--create-schema`, two shares loaded in parallel, every row counted, and about one copy loaded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { requireEnv, runCli, startCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { waitFor } from '../support/watch.ts';
import { s3Reader } from '../support/stores.ts';
import { s3Dest, uniquePrefix } from '../support/s3-env.ts';
import {
  NODES, clusterDownWiped, clusterStart, clusterWipe, nodeEnv, nodetoolOn, setTokens, withClusterClient, type NodeNumber,
} from '../support/cluster.ts';

const prefix = uniquePrefix('cluster-restore');
const dest = ['--dest', s3Dest(prefix)];
const store = s3Reader();
const stamp = Date.now().toString(36);
const ks3 = `cbr_r3_${stamp}`;
const ks2 = `cbr_r2_${stamp}`;
const ROWS = 1500;
const SLOT = '2026-11-20T03:00:00Z';
const ID = 'cbr-cluster-daily-20261120';
const { consistencies } = cassandra.types;
const envs = new Map(NODES.map((i) => [i, nodeEnv(i)]));
const env = (i: NodeNumber) => envs.get(i) ?? {};
// 640 hex characters that LZ4 cannot shrink much, so the SSTables weigh what the rows do.
const payload = (id: number) => Array.from({ length: 10 }, (_, k) => createHash('sha256').update(`${id}:${k}`).digest('hex')).join('');
/** The result document: the last line of a --json run (events come before it). */
const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;

function filesUnder(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.db')).length;
  } catch {
    return 0;
  }
}

function ok(run: CliResult, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

const portArgs = () => ['--cql-port', requireEnv('CBR_CLUSTER_CQL_PORT'), '--storage-port', requireEnv('CBR_CLUSTER_STORAGE_PORT')];

async function countRows(hosts: string[], consistency: number): Promise<Record<string, number>> {
  const client = new cassandra.Client({ contactPoints: hosts, localDataCenter: 'dc1',
    protocolOptions: { port: Number(requireEnv('CBR_CLUSTER_CQL_PORT')) }, socketOptions: { readTimeout: 60_000 } });
  await client.connect();
  try {
    const out: Record<string, number> = {};
    for (const ks of [ks3, ks2]) {
      const rs = await client.execute(`SELECT id, value FROM ${ks}.users`, [], { consistency, fetchSize: 500, autoPage: true, prepare: true });
      let n = 0;
      for await (const row of rs) {
        assert.equal(row['value'], payload(row['id'] as number), `${ks} row ${String(row['id'])} is intact`);
        n += 1;
      }
      out[ks] = n;
    }
    return out;
  } finally {
    await client.shutdown();
  }
}

interface PlanTarget { target: string; rack: string; numTokens: number; initialToken: string; files: number; bytes: number; sources: { address: string; hostId: string }[] }
interface LoadResult { ok: boolean; share: string; bytesRead: number; bytesLoaded: number; tables: number; loadedNow: number;
  cover: { keyspace: string; members: number; copiesKept: number; backupBytes: number; loadBytes: number; oneCopyBytes: number }[] }

before(async () => {
  await withClusterClient(async (client) => {
    await client.execute(`CREATE KEYSPACE ${ks3} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`);
    await client.execute(`CREATE KEYSPACE ${ks2} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2}`);
    for (const ks of [ks3, ks2]) {
      await client.execute(`CREATE TABLE ${ks}.users (id int PRIMARY KEY, value text)`);
      for (let from = 0; from < ROWS; from += 50) {
        await Promise.all(Array.from({ length: Math.min(50, ROWS - from) }, (_, k) => client.execute(
          `INSERT INTO ${ks}.users (id, value) VALUES (?, ?)`, [from + k, payload(from + k)], { prepare: true, consistency: consistencies.all })));
      }
    }
  });
  for (const i of NODES) ok(await runCli(['snapshot', '--tag-slot', 'daily', '--slot-time', SLOT, ...dest], env(i)), `backup of node ${i}`);
});

after(async () => {
  clusterDownWiped(); // the next cluster-up starts a fresh three-node cluster
  await store.deletePrefix(`${prefix}/`);
});

describe('whole-cluster restore (three-node loopback cluster)', () => {
  let plan: PlanTarget[] = [];

  it('--plan: per target its source, files, bytes and tokens, and the schema; nothing is written', async () => {
    const run = await runCli(['restore', '--cluster', ID, '--plan', '--json', ...dest], env(1));
    ok(run, 'restore --plan');
    const doc = lastJson<{ mode: string; targets: PlanTarget[]; schema: { statements: string[] } }>(run.stdout);
    assert.equal(doc.mode, 'same-shape');
    plan = doc.targets;
    assert.deepEqual(plan.map((t) => [t.target, t.rack, t.sources[0]?.address]),
      [['127.0.0.1', 'r1', '127.0.0.1'], ['127.0.0.2', 'r2', '127.0.0.2'], ['127.0.0.3', 'r3', '127.0.0.3']]);
    for (const t of plan) {
      assert.equal(t.numTokens, 16);
      assert.equal(t.initialToken.split(',').length, 16);
      assert.ok(t.files > 0 && t.bytes > ROWS * 400, `${t.target} restores its member's data`);
    }
    assert.ok(doc.schema.statements.some((s) => s.startsWith(`CREATE KEYSPACE IF NOT EXISTS ${ks2}`)));
    assert.ok(doc.schema.statements.some((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${ks3}.users`)));
    const text = await runCli(['restore', '--cluster', ID, '--plan', '--targets', '127.0.0.1,127.0.0.2', ...dest], env(1));
    ok(text, 'restore --plan for two targets');
    assert.match(text.stdout, /another size: 2 shares through the bulk loader/);
    assert.match(text.stdout, new RegExp(`${ks3}: 1 of 3 members`), 'one rack holds a full copy of an RF 3 keyspace');
  });

  it('(a) same shape: the cluster lost, three fresh nodes restored before their first start; every row at ALL', async () => {
    clusterWipe();
    const data1 = requireEnv('CBR_CLUSTER_DATA_1');
    const dry = await runCli(['--dry-run', 'restore', '--cluster', ID, '--as', 'auto', '--to', data1, ...dest], env(1));
    ok(dry, 'the dry run');
    assert.match(dry.stdout, /nothing was written/);
    assert.deepEqual(readdirSync(data1), [], 'a dry run writes nothing');
    // Node 1's restore is killed half-way (through a slow link) and run again: it fetches only what is missing.
    const proxy = await startFaultProxy(requireEnv('CBR_S3_ENDPOINT'), { flavour: 's3', answerBytesPerSecond: 150 * 1024 });
    try {
      const slow = startCli(['restore', '--cluster', ID, '--as', 'auto', '--to', data1, ...dest], { ...env(1), CASS_BACKUP_S3_ENDPOINT: proxy.endpoint });
      await waitFor('the first files of the slow restore', async () => filesUnder(join(data1, ks3)) >= 3, 120_000);
      slow.child.kill('SIGKILL');
      await slow.done;
    } finally {
      await proxy.close();
    }
    const runs = await Promise.all(NODES.map((i) => runCli(['restore', '--cluster', ID, '--as', 'auto', '--to', requireEnv(`CBR_CLUSTER_DATA_${i}`),
      '--force', '--json', ...dest], env(i))));
    const docs = runs.map((r, k) => {
      ok(r, `restore on node ${k + 1}`);
      return lastJson<{ ok: boolean; written: number; alreadyPresent: number; cluster: { member: { address: string }; initialToken: string; numTokens: number } }>(r.stdout);
    });
    for (const [k, doc] of docs.entries()) {
      const i = (k + 1) as NodeNumber;
      assert.equal(doc.cluster.member.address, `127.0.0.${i}`, '--as auto follows the listen_address');
      assert.equal(doc.cluster.initialToken, plan[k]?.initialToken, 'the tokens the plan announced');
      assert.ok(doc.written > 0);
      const keyspaces = readdirSync(requireEnv(`CBR_CLUSTER_DATA_${i}`));
      assert.ok(keyspaces.includes('system_schema') && keyspaces.includes(ks3), 'the schema and the data are in place');
      assert.ok(!keyspaces.includes('system'), 'the node-local system keyspace is not restored: the node is new');
      setTokens(i, doc.cluster.numTokens, doc.cluster.initialToken);
    }
    assert.ok((docs[0]?.alreadyPresent ?? 0) >= 3, 'node 1 kept what the killed run had written and checked');
    // Rerun on node 1: everything is there already and nothing is fetched again.
    const again = await runCli(['restore', '--cluster', ID, '--as', 'auto', '--to', requireEnv('CBR_CLUSTER_DATA_1'), '--force', '--json', ...dest], env(1));
    ok(again, 'the rerun');
    const rerun = lastJson<{ written: number; alreadyPresent: number }>(again.stdout);
    assert.equal(rerun.written, 0);
    assert.ok(rerun.alreadyPresent > 0);
    clusterStart(1, 2, 3);
    const hostIds = nodetoolOn(1, 'status').match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
    assert.equal(hostIds.length, 3);
    for (const t of plan) assert.ok(!hostIds.includes(t.sources[0]?.hostId ?? ''), 'new nodes: new host ids, the old ranges');
    assert.deepEqual(await countRows(['127.0.0.1', '127.0.0.2', '127.0.0.3'], consistencies.all), { [ks3]: ROWS, [ks2]: ROWS });
  });

  it('(b) another size: two fresh nodes, schema from the backup, two shares loaded in parallel; about one copy loaded', async () => {
    clusterWipe();
    // Two nodes of eight tokens each, interleaved: another ring than the backup's.
    const step = 2n ** 64n / 16n;
    const tokensOf = (n: number) => Array.from({ length: 8 }, (_, k) => String(-(2n ** 63n) + BigInt(2 * k + n) * step)).join(',');
    setTokens(1, 8, tokensOf(0));
    setTokens(2, 8, tokensOf(1));
    clusterStart(1, 2);
    const hosts = ['--load-hosts', '127.0.0.1,127.0.0.2', ...portArgs()];
    ok(await runCli(['restore', '--cluster', ID, '--create-schema', ...hosts, ...dest], env(1)), 'create the schema');
    const tables = ['--table', ks3, '--table', ks2];
    const runs = await Promise.all(([1, 2] as const).map((i) => runCli(['restore', '--cluster', ID, '--load', '--share', `${i}/2`,
      '--to', tempDir(`load-staging-${i}`), ...tables, ...hosts, '--json', ...dest], env(i))));
    const results = runs.map((r, k) => {
      ok(r, `load share ${k + 1}`);
      return lastJson<LoadResult>(r.stdout);
    });
    assert.deepEqual(await countRows(['127.0.0.1', '127.0.0.2'], consistencies.quorum), { [ks3]: ROWS, [ks2]: ROWS });
    const cover = results[0]?.cover ?? [];
    const rf3 = cover.find((c) => c.keyspace === ks3);
    const rf2 = cover.find((c) => c.keyspace === ks2);
    assert.equal(rf3?.members, 1, 'RF 3 over three racks: one member holds a full copy');
    assert.equal(rf2?.members, 2);
    const loaded = results.reduce((s, r) => s + r.bytesLoaded, 0);
    const backedUp = (rf3?.backupBytes ?? 0) + (rf2?.backupBytes ?? 0);
    const oneCopy = (rf3?.oneCopyBytes ?? 0) + (rf2?.oneCopyBytes ?? 0);
    console.log(`loaded ${loaded} bytes of SSTable data; one copy ${oneCopy}; backed up (all replicas) ${backedUp}`);
    assert.ok(loaded <= oneCopy * 1.5, `about one copy is loaded (${loaded} of one copy ${oneCopy})`);
    assert.ok(loaded < backedUp * 0.6, `far less than the RF copies backed up (${loaded} of ${backedUp})`);
    assert.ok(results.every((r) => r.loadedNow > 0), 'both shares load something');
    // A rerun loads nothing again: the tables loaded are recorded in the node's state directory.
    const rerun = await runCli(['restore', '--cluster', ID, '--load', '--share', '1/2', '--to', tempDir('load-staging-again'), ...tables, ...hosts,
      '--json', ...dest], env(1));
    ok(rerun, 'the rerun of share 1');
    const again = lastJson<LoadResult & { alreadyLoaded: number }>(rerun.stdout);
    assert.equal(again.loadedNow, 0);
    assert.equal(again.alreadyLoaded, results[0]?.tables);
  });
});
