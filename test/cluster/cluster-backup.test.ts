// Issue 12's acceptance on the three-node loopback cluster: every node runs `snapshot --tag-slot` from its own
// state directory at its own time; the cluster manifest appears once the last node finishes (tokens, racks,
// schema); `list --cluster` shows it complete and `verify --cluster` checks every member; with one node stopped,
// the next slot's cluster backup is incomplete and names it, while the other two still back up; a second writer
// never replaces the cluster manifest; purge keeps the newest complete cluster backup whole.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startCli, type CliResult } from '../support/run-cli.ts';
import { waitFor } from '../support/watch.ts';
import { s3Reader } from '../support/stores.ts';
import { s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { NODES, clusterNode, nodeEnv, withClusterClient, type NodeNumber } from '../support/cluster.ts';

const prefix = uniquePrefix('cluster');
const dest = ['--dest', s3Dest(prefix)];
const store = s3Reader();
const ks3 = `cbr_c3_${Date.now().toString(36)}`;
const ks2 = `cbr_c2_${Date.now().toString(36)}`;
const envs = new Map(NODES.map((i) => [i, nodeEnv(i)]));
const SLOT1 = '2026-12-01T03:00:00Z';
const SLOT2 = '2026-12-02T03:00:00Z';
const SLOT3 = '2026-12-03T03:00:00Z';

interface ClusterRow { id: string; complete: boolean; members: number; expected: number; missing: { address: string; hostId: string; joined: boolean }[] }
interface ClusterDoc {
  members: { address: string; rack: string; tokens: string[]; nodeId: string; hostId: string; snapshotAt: string }[];
  keyspaces: { name: string }[]; schema: { keyspaces: string[]; tables: { keyspace: string; table: string }[]; cqlKey: string };
  skewSeconds: number; writtenBy: string;
}

function ok(run: CliResult, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

function snapshotOn(i: NodeNumber, slot: string): Promise<CliResult> {
  return runCli(['snapshot', '--tag-slot', 'daily', '--slot-time', slot, ...dest], envs.get(i) ?? {});
}

async function listCluster(): Promise<ClusterRow[]> {
  const run = await runCli(['list', '--cluster', '--json', ...dest], nodeEnv(1));
  ok(run, 'list --cluster');
  return (JSON.parse(run.stdout) as { clusterBackups: ClusterRow[] }).clusterBackups;
}

const idOf = (slot: string) => `cbr-cluster-daily-${slot.slice(0, 10).replace(/-/g, '')}`;
const manifestKey = (slot: string) => `${prefix}/.cass-backup-run/clusters/cbr-cluster/${idOf(slot)}/cluster-manifest.json`;

before(async () => {
  await withClusterClient(async (client) => {
    await client.execute(`CREATE KEYSPACE ${ks3} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3}`);
    await client.execute(`CREATE KEYSPACE ${ks2} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2}`);
    for (const ks of [ks3, ks2]) {
      await client.execute(`CREATE TABLE ${ks}.users (id int PRIMARY KEY, name text)`);
      for (let id = 0; id < 200; id++) {
        await client.execute(`INSERT INTO ${ks}.users (id, name) VALUES (?, ?)`, [id, `n${id}`], { prepare: true, consistency: cassandraAll });
      }
    }
  });
});

after(async () => {
  await withClusterClient(async (client) => {
    for (const ks of [ks3, ks2]) await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`);
  });
  await store.deletePrefix(`${prefix}/`);
});

const cassandraAll = 5; // types.consistencies.all

describe('cluster backups through the bucket (three nodes)', () => {
  it('each node on its own schedule: incomplete until the last one, then the cluster manifest', async () => {
    ok(await snapshotOn(1, SLOT1), 'node 1');
    ok(await snapshotOn(2, SLOT1), 'node 2');
    const partial = (await listCluster()).find((r) => r.id === idOf(SLOT1));
    assert.equal(partial?.complete, false);
    assert.deepEqual(partial?.missing, [{ address: '127.0.0.3', hostId: partial?.missing[0]?.hostId, joined: false }]);
    const last = await snapshotOn(3, SLOT1);
    ok(last, 'node 3');
    assert.match(last.stderr, /cluster backup cbr-cluster-daily-20261201 is complete: 3 member\(s\)/);
    const doc = JSON.parse((await store.get(manifestKey(SLOT1))).toString()) as ClusterDoc;
    assert.deepEqual(doc.members.map((m) => [m.address, m.rack, m.nodeId]), [['127.0.0.1', 'r1', 'cnode1'], ['127.0.0.2', 'r2', 'cnode2'], ['127.0.0.3', 'r3', 'cnode3']]);
    for (const m of doc.members) assert.equal(m.tokens.length, 16, `${m.address} has its 16 tokens`);
    assert.ok(doc.skewSeconds > 0, 'the nodes snapshot at different times, and the skew says how far apart');
    assert.ok(doc.schema.keyspaces.some((s) => s.includes(`${ks3} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'}`)));
    assert.ok(doc.schema.keyspaces.some((s) => s.includes(`${ks2} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '2'}`)));
    assert.ok(doc.schema.tables.some((t) => t.keyspace === ks3 && t.table === 'users'));
    const cql = (await store.get(`${prefix}/${doc.schema.cqlKey}`)).toString();
    assert.match(cql, new RegExp(`CREATE KEYSPACE IF NOT EXISTS ${ks3} WITH replication[^;]*;[\\s\\S]*CREATE TABLE IF NOT EXISTS ${ks3}\\.users`));
    const complete = (await listCluster()).find((r) => r.id === idOf(SLOT1));
    assert.equal(complete?.complete, true);
    assert.equal(complete?.members, 3);
    ok(await runCli(['verify', '--cluster', idOf(SLOT1), ...dest], nodeEnv(2)), 'verify --cluster');
  });

  it('a rerun in the same slot does nothing, and a writer that finds the cluster manifest never replaces it', async () => {
    const before = (await store.get(manifestKey(SLOT1))).toString();
    const again = await snapshotOn(2, SLOT1);
    ok(again, 'the rerun');
    assert.match(again.stderr, /part of cluster backup .* is complete already; nothing to do/);
    ok(await runCli(['list', '--cluster', ...dest], nodeEnv(3)), 'list from another host');
    assert.equal((await store.get(manifestKey(SLOT1))).toString(), before);
  });

  it('with node 3 stopped, the next slot is incomplete and names it; nodes 1 and 2 still back up', async () => {
    clusterNode('stop', 3);
    try {
      ok(await snapshotOn(1, SLOT2), 'node 1 with node 3 down');
      ok(await snapshotOn(2, SLOT2), 'node 2 with node 3 down');
      const row = (await listCluster()).find((r) => r.id === idOf(SLOT2));
      assert.equal(row?.complete, false);
      assert.equal(row?.members, 2);
      assert.equal(row?.expected, 3, 'a down node still owns data: it is expected');
      assert.deepEqual(row?.missing.map((m) => [m.address, m.joined]), [['127.0.0.3', false]]);
      const verify = await runCli(['verify', '--cluster', idOf(SLOT2), ...dest], nodeEnv(1));
      assert.equal(verify.exitCode, 4, verify.stderr);
      assert.match(verify.stderr, /is not complete: 2 of 3 members .* missing 127\.0\.0\.3 \(never joined\)/);
    } finally {
      clusterNode('start', 3);
    }
  });

  it('purge keeps this node\'s part of the newest complete cluster backup, whatever --keep-last says', async () => {
    ok(await snapshotOn(1, SLOT3), 'node 1, slot 3');
    const run = await runCli(['purge', '--keep-last', '1', '--json', ...dest], envs.get(1) ?? {});
    ok(run, 'purge (plan)');
    const doc = JSON.parse(run.stdout) as { kept: { tag: string; reasons: string[] }[]; expired: { tag: string }[] };
    assert.deepEqual(doc.kept.find((k) => k.tag === idOf(SLOT1))?.reasons, ['cluster-backup']);
    assert.ok(doc.expired.some((e) => e.tag === idOf(SLOT2)), 'the incomplete cluster backup is no reason to keep');
  });

  it('--cluster-wait: a node that starts first waits for the others to join, then snapshots', async () => {
    const SLOT4 = '2026-12-04T03:00:00Z';
    const first = startCli(['snapshot', '--tag-slot', 'daily', '--slot-time', SLOT4, '--cluster-wait', '3m', ...dest], envs.get(1) ?? {});
    const joined = `${prefix}/.cass-backup-run/clusters/cbr-cluster/${idOf(SLOT4)}/members/`;
    await waitFor('node 1 joined', async () => (await store.list(joined)).size === 1, 120_000);
    ok(await snapshotOn(2, SLOT4), 'node 2');
    ok(await snapshotOn(3, SLOT4), 'node 3');
    const done = await first.done;
    ok(done, 'node 1');
    assert.match(done.stderr, /every node that is up has joined cluster backup/);
    const doc = JSON.parse((await store.get(manifestKey(SLOT4))).toString()) as ClusterDoc;
    const node1 = doc.members.find((m) => m.address === '127.0.0.1');
    const records = await Promise.all(['2', '3'].map(async (i) => {
      const key = [...(await store.list(joined)).keys()].find((k) => k.endsWith('.json') && k.includes(doc.members.find((m) => m.address === `127.0.0.${i}`)?.hostId ?? '?'));
      return JSON.parse((await store.get(key ?? '')).toString()) as { joinedAt: string };
    }));
    for (const r of records) assert.ok(Date.parse(node1?.snapshotAt ?? '') >= Date.parse(r.joinedAt), 'node 1 took its snapshot after the others joined');
  });
});
