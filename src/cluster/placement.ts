// Where Cassandra keeps each range's replicas, from the tokens, data centers and racks a cluster manifest recorded,
// and which members' backups together hold every range once. Pure. The placement follows Cassandra 5.0's
// strategies: SimpleStrategy takes the next RF distinct nodes clockwise; NetworkTopologyStrategy, per data center,
// takes nodes clockwise from distinct racks, and repeats a rack only when the data center has fewer racks than RF.
import type { KeyspaceReplication } from '../cassandra/ring.ts';

export interface PlacedMember {
  readonly hostId: string;
  readonly dataCenter: string;
  readonly rack: string;
  readonly tokens: readonly string[];
}

/** One token range (previous token, token], with the host ids holding a replica of it. */
export interface ReplicatedRange {
  readonly end: bigint;
  readonly replicas: readonly string[];
}

interface RingEntry {
  readonly token: bigint;
  readonly member: PlacedMember;
}

function ringOf(members: readonly PlacedMember[]): RingEntry[] {
  const entries = members.flatMap((member) => member.tokens.map((t) => ({ token: BigInt(t), member })));
  return entries.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
}

/** Replication factors by data center; SimpleStrategy counts as one pseudo data center `*`. */
export function replicationFactors(k: KeyspaceReplication): Map<string, number> {
  const out = new Map<string, number>();
  if (k.strategy.endsWith('SimpleStrategy')) {
    out.set('*', Number(k.options['replication_factor'] ?? '1'));
    return out;
  }
  for (const [dc, value] of Object.entries(k.options)) {
    const rf = Number(value.replace(/\/.*/, '')); // `3/1` = 3 replicas, 1 transient: all hold data
    if (dc !== 'replication_factor' && Number.isInteger(rf) && rf > 0) out.set(dc, rf);
  }
  return out;
}

/** Every range of the ring with its replicas for a keyspace's replication. */
export function replicatedRanges(members: readonly PlacedMember[], keyspace: KeyspaceReplication): ReplicatedRange[] {
  const ring = ringOf(members);
  const factors = replicationFactors(keyspace);
  return ring.map((entry, start) => ({ end: entry.token, replicas: replicasFrom(ring, start, factors) }));
}

function replicasFrom(ring: readonly RingEntry[], start: number, factors: ReadonlyMap<string, number>): string[] {
  const chosen: string[] = [];
  for (const [dc, rf] of factors) {
    const inDc = (m: PlacedMember) => dc === '*' || m.dataCenter === dc;
    const nodes = new Set(ring.filter((e) => inDc(e.member)).map((e) => e.member.hostId));
    const racks = new Set(ring.filter((e) => inDc(e.member)).map((e) => e.member.rack));
    let left = Math.min(rf, nodes.size);
    let rackRepeats = dc === '*' ? Number.POSITIVE_INFINITY : rf - racks.size;
    const seenRacks = new Set<string>();
    const here = new Set<string>();
    for (let i = 0; i < ring.length && left > 0; i++) {
      const { member } = ring[(start + i) % ring.length] as RingEntry;
      if (!inDc(member) || here.has(member.hostId)) continue;
      if (!seenRacks.has(member.rack)) seenRacks.add(member.rack);
      else if (rackRepeats <= 0) continue;
      else rackRepeats -= 1;
      here.add(member.hostId);
      left -= 1;
    }
    for (const h of here) if (!chosen.includes(h)) chosen.push(h);
  }
  return chosen;
}

/**
 * Members whose backups together hold every range of the keyspace at least once, chosen greedily: the member
 * holding most uncovered ranges first, then (on a tie) one from a rack already chosen, so that with one rack per
 * replica the nodes of one rack, a full copy, are chosen; then the member with the fewest bytes. Ordered as chosen.
 */
export function coveringMembers(members: readonly PlacedMember[], keyspace: KeyspaceReplication,
  bytesOf: (hostId: string) => number = () => 0): string[] {
  const ranges = replicatedRanges(members, keyspace);
  const uncovered = new Set(ranges.map((_, i) => i));
  const chosen: string[] = [];
  const chosenRacks = new Set<string>();
  const byHost = new Map(members.map((m) => [m.hostId, m]));
  while (uncovered.size > 0) {
    let best: { hostId: string; gain: number; sameRack: boolean; bytes: number } | undefined;
    for (const m of [...members].sort((a, b) => a.hostId.localeCompare(b.hostId))) {
      if (chosen.includes(m.hostId)) continue;
      let gain = 0;
      for (const i of uncovered) if (ranges[i]?.replicas.includes(m.hostId)) gain += 1;
      const sameRack = chosenRacks.has(`${m.dataCenter}/${m.rack}`);
      const bytes = bytesOf(m.hostId);
      const better = best === undefined || gain > best.gain ||
        (gain === best.gain && (sameRack !== best.sameRack ? sameRack : bytes < best.bytes));
      if (gain > 0 && better) best = { hostId: m.hostId, gain, sameRack, bytes };
    }
    if (best === undefined) break; // ranges nobody replicates (no member in the keyspace's data centers)
    chosen.push(best.hostId);
    const m = byHost.get(best.hostId);
    if (m !== undefined) chosenRacks.add(`${m.dataCenter}/${m.rack}`);
    for (const i of [...uncovered]) if (ranges[i]?.replicas.includes(best.hostId)) uncovered.delete(i);
  }
  return chosen;
}

/** How many replicas the keyspace keeps of each range in this cluster (capped by the nodes there are). */
export function copiesKept(members: readonly PlacedMember[], keyspace: KeyspaceReplication): number {
  let total = 0;
  for (const [dc, rf] of replicationFactors(keyspace)) {
    total += Math.min(rf, members.filter((m) => dc === '*' || m.dataCenter === dc).length);
  }
  return Math.max(total, 1);
}

export interface ShareUnit {
  readonly id: string;
  readonly bytes: number;
}

/**
 * Units of work split into `shares` disjoint shares of about equal bytes (largest first, each to the lightest
 * share; ties by id), so that every target node computes the same split from the same manifest without talking.
 */
export function splitIntoShares<T extends ShareUnit>(units: readonly T[], shares: number): T[][] {
  const out: T[][] = Array.from({ length: shares }, () => []);
  const load: number[] = out.map(() => 0);
  const ordered = [...units].sort((a, b) => b.bytes - a.bytes || a.id.localeCompare(b.id));
  for (const unit of ordered) {
    let lightest = 0;
    for (let i = 1; i < shares; i++) if ((load[i] ?? 0) < (load[lightest] ?? 0)) lightest = i;
    out[lightest]?.push(unit);
    load[lightest] = (load[lightest] ?? 0) + unit.bytes;
  }
  return out;
}
