// The pure part of a whole-cluster restore: Cassandra's replica placement from recorded tokens and racks, the
// covering sets that load about one copy, shares that every node computes alike, and the same-shape mapping.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copiesKept, coveringMembers, replicatedRanges, splitIntoShares, type PlacedMember } from '../../src/cluster/placement.ts';
import { loadPlan, mapTargets, parseShare, parseTargets, sameShapePlan, tokenSettings, type MemberContent } from '../../src/cluster/restore-plan.ts';
import type { ClusterManifest, ClusterMember } from '../../src/cluster/records.ts';

const nts = (rf: number) => ({ name: 'ks', strategy: 'NetworkTopologyStrategy', options: { dc1: String(rf) } });
const simple = (rf: number) => ({ name: 'ks', strategy: 'SimpleStrategy', options: { replication_factor: String(rf) } });

/** n nodes, `perNode` interleaved tokens each, racks assigned round-robin over `racks`. */
function ring(n: number, racks: number, perNode = 4): PlacedMember[] {
  const step = 2n ** 64n / BigInt(n * perNode);
  return Array.from({ length: n }, (_, i) => ({
    hostId: `h${i + 1}`, dataCenter: 'dc1', rack: `r${(i % racks) + 1}`,
    tokens: Array.from({ length: perNode }, (_, k) => String(-(2n ** 63n) + BigInt(k * n + i) * step)),
  }));
}

describe('replica placement', () => {
  it('NetworkTopologyStrategy RF 3 over three racks: every range on all three nodes', () => {
    for (const r of replicatedRanges(ring(3, 3), nts(3))) assert.deepEqual([...r.replicas].sort(), ['h1', 'h2', 'h3']);
  });

  it('RF 2 over three racks: the owner and the next node clockwise in another rack', () => {
    const members = ring(3, 3);
    const ranges = replicatedRanges(members, nts(2));
    assert.equal(ranges.length, 12);
    for (const r of ranges) {
      assert.equal(r.replicas.length, 2);
      const racks = r.replicas.map((h) => members.find((m) => m.hostId === h)?.rack);
      assert.notEqual(racks[0], racks[1]);
    }
    // Tokens interleave h1, h2, h3: the range ending at h1's token is on h1 and h2.
    assert.deepEqual(ranges[0]?.replicas, ['h1', 'h2']);
  });

  it('six nodes in three racks, RF 3: each range once per rack, skipping a second node of a rack already used', () => {
    const members = ring(6, 3);
    for (const r of replicatedRanges(members, nts(3))) {
      assert.deepEqual(new Set(r.replicas.map((h) => members.find((m) => m.hostId === h)?.rack)).size, 3);
    }
  });

  it('fewer racks than RF: racks repeat, still RF distinct nodes', () => {
    for (const r of replicatedRanges(ring(4, 2), nts(3))) assert.equal(new Set(r.replicas).size, 3);
  });

  it('SimpleStrategy: the next RF distinct nodes clockwise, racks ignored', () => {
    const ranges = replicatedRanges(ring(3, 1), simple(2));
    assert.deepEqual(ranges[0]?.replicas, ['h1', 'h2']);
    assert.deepEqual(ranges[2]?.replicas, ['h3', 'h1']);
  });

  it('copies kept are capped by the nodes there are', () => {
    assert.equal(copiesKept(ring(3, 3), nts(3)), 3);
    assert.equal(copiesKept(ring(2, 2), nts(3)), 2);
  });
});

describe('covering sets', () => {
  it('RF 3 over three racks: one member holds a full copy', () => {
    assert.equal(coveringMembers(ring(3, 3), nts(3)).length, 1);
  });

  it('six nodes, three racks, RF 3: the two nodes of one rack', () => {
    const members = ring(6, 3);
    const chosen = coveringMembers(members, nts(3));
    assert.equal(chosen.length, 2);
    assert.equal(new Set(chosen.map((h) => members.find((m) => m.hostId === h)?.rack)).size, 1);
  });

  it('RF 2 over three nodes: two members, and every range covered', () => {
    const members = ring(3, 3);
    const chosen = coveringMembers(members, nts(2));
    assert.equal(chosen.length, 2);
    for (const r of replicatedRanges(members, nts(2))) assert.ok(r.replicas.some((h) => chosen.includes(h)));
  });

  it('on a tie, the member with fewer bytes', () => {
    assert.deepEqual(coveringMembers(ring(3, 3), nts(3), (h) => (h === 'h2' ? 10 : 100)), ['h2']);
  });
});

describe('shares', () => {
  it('disjoint, complete, balanced by bytes and the same on every node', () => {
    const units = [50, 40, 30, 20, 10, 10].map((bytes, i) => ({ id: `u${i}`, bytes }));
    const a = splitIntoShares(units, 2);
    const b = splitIntoShares([...units].reverse(), 2);
    assert.deepEqual(a, b);
    assert.deepEqual(a.flat().map((u) => u.id).sort(), units.map((u) => u.id).sort());
    assert.deepEqual(a.map((s) => s.reduce((n, u) => n + u.bytes, 0)), [80, 80]);
  });

  it('more shares than units: the extra shares are empty', () => {
    assert.deepEqual(splitIntoShares([{ id: 'a', bytes: 1 }], 3).map((s) => s.length), [1, 0, 0]);
  });
});

function manifestOf(members: readonly PlacedMember[]): ClusterManifest {
  const cm: ClusterMember[] = members.map((m, i) => ({
    ...m, address: `10.0.0.${i + 1}`, nodeId: `n${i + 1}`, manifestKey: `n${i + 1}/.cass-backup-run/manifests/t.json`,
    snapshotAt: '2026-12-01T03:00:00.000Z', finishedAt: '2026-12-01T03:01:40.000Z', files: 10, bytes: 100_000_000,
  }));
  return {
    format: 1, clusterName: 'prod', cluster: 'prod', id: 'prod-daily-20261201', partitioner: undefined, members: cm, skewSeconds: 0,
    keyspaces: [{ ...nts(3), name: 'a' }, { ...nts(2), name: 'b' }],
    schema: { keyspaces: [], tables: [], cqlKey: 'x' }, totals: { members: cm.length, files: 0, bytes: 0 }, completedAt: '', writtenBy: '',
  };
}

const contents = (members: readonly PlacedMember[]) => new Map<string, MemberContent>(members.map((m) => [m.hostId, {
  hostId: m.hostId, byKeyspace: new Map([['a', { files: 5, bytes: 300 }], ['b', { files: 4, bytes: 200 }], ['system', { files: 9, bytes: 50 }],
    ['system_schema', { files: 3, bytes: 30 }]]),
}]));

describe('the plan', () => {
  const members = ring(3, 3);
  const manifest = manifestOf(members);

  it('same shape: every member onto its own address, system left out, an estimate at the backups\' rate', () => {
    const plan = sameShapePlan(manifest, contents(members), []);
    assert.deepEqual(plan.map((t) => [t.target, t.member.hostId, t.files, t.bytes]),
      [['10.0.0.1', 'h1', 12, 530], ['10.0.0.2', 'h2', 12, 530], ['10.0.0.3', 'h3', 12, 530]]);
    assert.equal(plan[0]?.estimateSeconds, 1); // 1 MB/s from the backups; 530 bytes take under a second
  });

  it('same shape mapping: explicit sources, then racks, then order; a wrong count is refused', () => {
    const mapped = mapTargets(manifest, parseTargets(['192.168.0.9=10.0.0.3', '192.168.0.8@r1,192.168.0.7']));
    assert.deepEqual(mapped.map((m) => [m.target, m.member.address]),
      [['192.168.0.9', '10.0.0.3'], ['192.168.0.8', '10.0.0.1'], ['192.168.0.7', '10.0.0.2']]);
    assert.throws(() => mapTargets(manifest, parseTargets(['a,b'])), /as many targets as members \(3\), got 2/);
    assert.throws(() => mapTargets(manifest, parseTargets(['a=10.0.0.1', 'b=10.0.0.1', 'c'])), /source of two targets/);
  });

  it('load: RF 3 from one member, RF 2 from two, split in two shares', () => {
    const { shares, cover } = loadPlan(manifest, contents(members), 2, ['x', 'y']);
    assert.deepEqual(cover.map((c) => [c.keyspace, c.members.length, c.loadBytes, c.oneCopyBytes]), [['a', 1, 300, 300], ['b', 2, 400, 300]]);
    assert.equal(shares.length, 2);
    assert.deepEqual(shares.flatMap((s) => s.units.map((u) => u.id)).sort(), ['n1/a', 'n1/b', 'n2/b'].sort());
    assert.equal(shares[0]?.target, 'x');
  });

  it('load limited to a keyspace', () => {
    const { cover } = loadPlan(manifest, contents(members), 1, [], new Set(['b']));
    assert.deepEqual(cover.map((c) => c.keyspace), ['b']);
  });

  it('token settings: sorted tokens, their count, no bootstrap', () => {
    const s = tokenSettings({ ...(manifest.members[0] as ClusterMember), tokens: ['5', '-3', '10'] });
    assert.equal(s.initialToken, '-3,5,10');
    assert.equal(s.numTokens, 3);
    assert.ok(s.lines.includes('auto_bootstrap: false'));
  });

  it('--share and --targets are checked', () => {
    assert.deepEqual(parseShare('2/4'), { share: 2, of: 4 });
    assert.throws(() => parseShare('5/4'), /1 <= K <= N/);
    assert.throws(() => parseShare('x'), /expected K\/N/);
    assert.throws(() => parseTargets(['=a']), /cannot read/);
  });
});
