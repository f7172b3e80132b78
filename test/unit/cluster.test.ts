// Cluster backups, the pure parts and the bucket protocol over the local backend: nodetool parsing, slot ids, who
// is expected, and the cluster manifest written once, by whichever run sees every member complete.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { createLocalBackend } from '../../src/storage/local.ts';
import { bytesSource } from '../../src/storage/source.ts';
import { finishManifest } from '../../src/catalog/manifest.ts';
import { writeManifest } from '../../src/catalog/catalog.ts';
import { manifestKey } from '../../src/catalog/keys.ts';
import { createKeyspaceStatement, joinRing, parseKeyspaces, parseRingTokens, parseStatus, type RingMember } from '../../src/cassandra/ring.ts';
import { clusterSegment, slotTag } from '../../src/cluster/slot.ts';
import { expectedMembers, CLUSTER_FORMAT, type MemberRecord } from '../../src/cluster/records.ts';
import { clusterManifestKey } from '../../src/cluster/keys.ts';
import {
  completeClusterBackup, completeRecordOf, joinClusterBackup, listClusterBackups, markComplete, readClusterBackup, readClusterManifest,
  type ClusterCatalogDeps,
} from '../../src/cluster/cluster-catalog.ts';

const STATUS = `Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load        Tokens  Owns (effective)  Host ID                               Rack
UN  127.0.0.3  91.1 KiB    16      66.7%             19d9e684-8707-4701-9a86-aae9a06ec492  r3
DN  127.0.0.2  66.42 KiB   16      66.7%             3561d065-e5a7-4481-a78c-7208a8278398  r2
UJ  127.0.0.4  ?           16      ?                 4561d065-e5a7-4481-a78c-7208a8278398  r1
UN  127.0.0.1  117.39 KiB  16      66.7%             2b08cf77-01c3-41bc-a2e0-b82a4d939923  r1
`;
const RING = `
Datacenter: dc1
==========
Address         Rack        Status State   Load            Owns                Token
                                                                               8839064868652493467
127.0.0.1       r1          Up     Normal  117.39 KiB      66.67%              -9223372036854775808
127.0.0.2       r2          Down   Normal  66.42 KiB       66.67%              -8839064868652493483
127.0.0.3       r3          Up     Normal  91.1 KiB        66.67%              -8454757700450211158
127.0.0.1       r1          Up     Normal  117.39 KiB      66.67%              -8070450532247928833
`;
const DESCRIBE = `Keyspaces:
\tsystem_auth -> Replication class: SimpleStrategy {replication_factor=1}
\tks_rf2 -> Replication class: NetworkTopologyStrategy {dc1=2}
\tsystem -> Replication class: LocalStrategy {}
`;

describe('nodetool output: the ring and the keyspaces', () => {
  it('joins status (host ids, racks, up/down, state) with ring (tokens)', () => {
    const ring = joinRing(parseStatus(STATUS), parseRingTokens(RING));
    assert.equal(ring.length, 4);
    const one = ring.find((m) => m.address === '127.0.0.1');
    assert.deepEqual(one, { hostId: '2b08cf77-01c3-41bc-a2e0-b82a4d939923', address: '127.0.0.1', dataCenter: 'dc1', rack: 'r1',
      status: 'up', state: 'normal', tokens: ['-9223372036854775808', '-8070450532247928833'] });
    assert.equal(ring.find((m) => m.address === '127.0.0.2')?.status, 'down');
    assert.equal(ring.find((m) => m.address === '127.0.0.4')?.state, 'joining');
  });

  it('reads replication and writes the CREATE KEYSPACE that recreates it', () => {
    const ks = parseKeyspaces(DESCRIBE);
    assert.deepEqual(ks.map((k) => k.name), ['ks_rf2', 'system', 'system_auth']);
    assert.equal(createKeyspaceStatement(ks[0]!), "CREATE KEYSPACE IF NOT EXISTS ks_rf2 WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '2'};");
  });
});

describe('slot ids', () => {
  it('every node of a cluster derives the same id for the same UTC day or hour, minutes apart', () => {
    assert.equal(slotTag('daily', 'Prod Cluster 1', new Date('2026-12-01T03:14:00Z')), 'prod-cluster-1-daily-20261201');
    assert.equal(slotTag('daily', 'Prod Cluster 1', new Date('2026-12-01T03:29:59Z')), 'prod-cluster-1-daily-20261201');
    assert.equal(slotTag('hourly', 'prod', new Date('2026-12-01T03:59:00Z')), 'prod-hourly-20261201T03');
    assert.notEqual(slotTag('hourly', 'prod', new Date('2026-12-01T04:00:00Z')), 'prod-hourly-20261201T03');
    assert.throws(() => clusterSegment('  '), /no usable cluster backup id/);
  });
});

const member = (address: string, hostId: string, state: RingMember['state'] = 'normal'): RingMember =>
  ({ hostId, address, dataCenter: 'dc1', rack: `r${address.slice(-1)}`, status: 'up', state, tokens: [address] });
const RING3 = [member('127.0.0.1', 'h1'), member('127.0.0.2', 'h2'), member('127.0.0.3', 'h3')];

function record(hostId: string, ring: readonly RingMember[] = RING3, id = 'c-daily-20261201'): MemberRecord {
  const m = ring.find((r) => r.hostId === hostId) ?? member('127.0.0.9', hostId);
  return {
    format: CLUSTER_FORMAT, clusterName: 'c', cluster: 'c', id, hostId, address: m.address, dataCenter: 'dc1', rack: m.rack,
    tokens: m.tokens, nodeId: `node-${hostId}`, manifestKey: manifestKey(`node-${hostId}`, id), hostname: 'h', joinedAt: '2026-12-01T03:00:00Z',
    partitioner: 'Murmur3Partitioner', ring, keyspaces: [{ name: 'ks', strategy: 'NetworkTopologyStrategy', options: { dc1: '3' } }],
  };
}

describe('who is expected', () => {
  it('every node in Normal state in any member\'s view; not one that was joining', () => {
    const withJoining = [...RING3, member('127.0.0.4', 'h4', 'joining')];
    assert.deepEqual(expectedMembers([record('h1', withJoining)]).map((m) => m.hostId), ['h1', 'h2', 'h3']);
    // A node another member saw as Normal is expected too.
    const later = [...RING3, member('127.0.0.4', 'h4')];
    assert.deepEqual(expectedMembers([record('h1'), record('h2', later)]).map((m) => m.hostId), ['h1', 'h2', 'h3', 'h4']);
  });
});

describe('the cluster manifest: once, when every expected member is complete', () => {
  const setup = () => {
    const backend = createLocalBackend({ root: mkdtempSync(join(tmpdir(), 'cbr-cluster-')) });
    const deps: ClusterCatalogDeps = { backend, signal: new AbortController().signal, concurrency: 4, cacheDir: undefined };
    return { backend, deps };
  };
  const complete = async (deps: ClusterCatalogDeps, hostId: string, at: string) => {
    const id = 'c-daily-20261201';
    const nodeId = `node-${hostId}`;
    await deps.backend.put(`${nodeId}/ks/t-0123456789abcdef0123456789abcdef/snapshots/${id}/schema.cql`, bytesSource(Buffer.from(`CREATE TABLE ks.t (id int PRIMARY KEY); -- ${hostId}`)));
    const manifest = finishManifest({
      tool: { name: 'cass-backup-run', version: 't' }, nodeId, kind: 'snapshot', tag: id, layout: 'seed', startedAt: at, finishedAt: at,
      snapshotAt: at, cloud: { cloud: 'none' }, hostname: 'h', cassandra: { hostId }, dataDirs: ['/d'],
      files: [{ path: `ks/t-0123456789abcdef0123456789abcdef/snapshots/${id}/schema.cql`, dataDir: 0, size: 10, mtimeMs: 0, ino: 1, key: `${nodeId}/ks/t-0123456789abcdef0123456789abcdef/snapshots/${id}/schema.cql`, crc32c: 'x' }],
    });
    const key = await writeManifest(deps.backend, manifest);
    await markComplete(deps, 'c', id, completeRecordOf(manifest, hostId, key));
  };

  it('is not written while a member is missing, names what is missing, and is written by the last one', async () => {
    const { deps, backend } = setup();
    for (const h of ['h1', 'h2', 'h3']) assert.equal(await joinClusterBackup(deps, record(h)), 'joined');
    await complete(deps, 'h1', '2026-12-01T03:00:00.000Z');
    await complete(deps, 'h2', '2026-12-01T03:00:12.500Z');
    let state = await readClusterBackup(deps, 'c', 'c-daily-20261201');
    assert.deepEqual(state.missing.map((m) => [m.member.hostId, m.joined]), [['h3', true]]);
    assert.equal(await completeClusterBackup(deps, state, 'node-h2', new Date()), undefined);
    assert.equal(await backend.stat(clusterManifestKey('c', 'c-daily-20261201')), undefined);
    await complete(deps, 'h3', '2026-12-01T03:01:00.000Z');
    state = await readClusterBackup(deps, 'c', 'c-daily-20261201');
    const summary = await completeClusterBackup(deps, state, 'node-h3', new Date());
    assert.equal(summary?.members.length, 3);
    assert.equal(summary?.skewSeconds, 60);
    const manifest = await readClusterManifest(deps, 'c', 'c-daily-20261201');
    assert.deepEqual(manifest?.schema.keyspaces, ["CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '3'};"]);
    assert.deepEqual(manifest?.schema.tables, [{ keyspace: 'ks', table: 't' }]);
    const cql = await text(await backend.get(manifest?.schema.cqlKey ?? ''));
    assert.match(cql, /^CREATE KEYSPACE IF NOT EXISTS ks WITH replication .*\n\nCREATE TABLE ks\.t/s);
    assert.deepEqual(manifest?.members.map((m) => m.tokens), [['127.0.0.1'], ['127.0.0.2'], ['127.0.0.3']], 'each member\'s tokens');
    // A rerun of a member in the same slot finds its record: not an error.
    assert.equal(await joinClusterBackup(deps, record('h1')), 'already');
  });

  it('two writers racing for the cluster manifest: one wins, the other keeps it as it is', async () => {
    const { deps, backend } = setup();
    for (const h of ['h1', 'h2', 'h3']) {
      await joinClusterBackup(deps, record(h));
      await complete(deps, h, '2026-12-01T03:00:00.000Z');
    }
    const state = await readClusterBackup(deps, 'c', 'c-daily-20261201');
    const [a, b] = await Promise.all([completeClusterBackup(deps, state, 'writer-a', new Date()), completeClusterBackup(deps, state, 'writer-b', new Date())]);
    assert.equal(a?.writtenBy, b?.writtenBy, 'both see the one that was stored');
    const key = clusterManifestKey('c', 'c-daily-20261201');
    const before = await backend.stat(key);
    await completeClusterBackup(deps, { ...state, summary: undefined }, 'writer-c', new Date());
    assert.deepEqual(await backend.stat(key), before, 'a later writer replaces nothing');
    const listed = await listClusterBackups(deps);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.summary?.writtenBy, a?.writtenBy);
  });

  it('a member whose run stopped between its manifest and its completion record is found complete, and recorded', async () => {
    const { deps, backend } = setup();
    for (const h of ['h1', 'h2', 'h3']) {
      await joinClusterBackup(deps, record(h));
      await complete(deps, h, '2026-12-01T03:00:00.000Z');
    }
    const lost = 'c-daily-20261201';
    await backend.delete([`.cass-backup-run/clusters/c/${lost}/complete/h2.json`]);
    const state = await readClusterBackup(deps, 'c', lost);
    assert.deepEqual(state.missing, []);
    assert.ok(await backend.stat(`.cass-backup-run/clusters/c/${lost}/complete/h2.json`), 'the completion record is written again');
    assert.equal((await completeClusterBackup(deps, state, 'list', new Date()))?.members.length, 3);
  });

  it('a Cassandra host that joined under another node id is refused', async () => {
    const { deps } = setup();
    await joinClusterBackup(deps, record('h1'));
    await assert.rejects(joinClusterBackup(deps, { ...record('h1'), nodeId: 'someone-else' }), /two node ids for one Cassandra host/);
  });
});
