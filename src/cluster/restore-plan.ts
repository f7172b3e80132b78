// The plan of a whole-cluster restore (DESIGN section 11), from the cluster manifest and its members' manifests.
// Pure. Two paths:
//   same shape: as many target nodes as members; each target takes one member's files and its tokens (and must be in
//     its data center and rack), mapped explicitly (TARGET=SOURCE), by rack and order, or by the members' addresses;
//   load: another number of targets; a covering set of members per keyspace (placement.ts) is split into disjoint
//     shares, one per target, each loaded with Cassandra's bulk loader, so about one copy is read and streamed.
import { UsageError } from '../errors.ts';

import type { ClusterManifest, ClusterMember } from './records.ts';
import { copiesKept, coveringMembers, splitIntoShares } from './placement.ts';

/** What one member's snapshot holds, by keyspace. */
export interface MemberContent {
  readonly hostId: string;
  readonly byKeyspace: ReadonlyMap<string, { readonly files: number; readonly bytes: number }>;
}

/** A target node: its address, the rack it will be in, or the source it takes (`TARGET=SOURCE`). */
export interface TargetSpec {
  readonly address: string;
  readonly rack?: string;
  readonly source?: string;
}

export interface SameShapeTarget {
  readonly target: string;
  readonly member: ClusterMember;
  readonly files: number;
  readonly bytes: number;
  readonly estimateSeconds: number | undefined;
}

export interface LoadUnit {
  readonly id: string;
  readonly member: ClusterMember;
  readonly keyspace: string;
  readonly files: number;
  readonly bytes: number;
}

export interface LoadShare {
  /** 1-based, as `--share K/N` names it. */
  readonly share: number;
  readonly target: string | undefined;
  readonly units: readonly LoadUnit[];
  readonly files: number;
  readonly bytes: number;
  readonly estimateSeconds: number | undefined;
}

export interface KeyspaceCover {
  readonly keyspace: string;
  /** Host ids of the members loaded, as chosen. */
  readonly members: readonly string[];
  /** Replicas the source cluster kept of each range. */
  readonly copiesKept: number;
  readonly backupBytes: number;
  readonly loadBytes: number;
  /** backupBytes / copiesKept: what one copy of the keyspace weighs. */
  readonly oneCopyBytes: number;
}

/** Keyspaces never restored onto new nodes: `system` is the node's own identity (host id, tokens, peers). */
export const NODE_LOCAL_KEYSPACES: readonly string[] = ['system'];

/** Bytes per second at which the members' backups ran (their upload, from snapshot to manifest). */
export function backupRate(members: readonly ClusterMember[]): number | undefined {
  let bytes = 0;
  let seconds = 0;
  for (const m of members) {
    const s = (Date.parse(m.finishedAt) - Date.parse(m.snapshotAt)) / 1000;
    if (Number.isFinite(s) && s > 0) {
      bytes += m.bytes;
      seconds += s;
    }
  }
  return seconds > 0 && bytes > 0 ? bytes / seconds : undefined;
}

const estimate = (bytes: number, rate: number | undefined) => (rate === undefined ? undefined : Math.ceil(bytes / rate));

function totalOf(content: MemberContent | undefined, keep: (keyspace: string) => boolean): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const [ks, v] of content?.byKeyspace ?? []) {
    if (!keep(ks)) continue;
    files += v.files;
    bytes += v.bytes;
  }
  return { files, bytes };
}

/** Finds the member an operator named: by address, host id or node id. */
export function findMember(manifest: ClusterManifest, name: string): ClusterMember {
  const found = manifest.members.find((m) => m.address === name || m.hostId === name || m.nodeId === name);
  if (found === undefined) {
    throw new UsageError(`cluster backup ${manifest.id} has no member "${name}"; its members: ` +
      manifest.members.map((m) => `${m.address} (${m.dataCenter}/${m.rack}, node id ${m.nodeId})`).join(', '));
  }
  return found;
}

/** Members in the order targets follow: data center, rack, then first token. */
function memberOrder(members: readonly ClusterMember[]): ClusterMember[] {
  const first = (m: ClusterMember) => m.tokens.reduce((lo, t) => (BigInt(t) < lo ? BigInt(t) : lo), BigInt(m.tokens[0] ?? '0'));
  return [...members].sort((a, b) => a.dataCenter.localeCompare(b.dataCenter) || a.rack.localeCompare(b.rack) ||
    (first(a) < first(b) ? -1 : first(a) > first(b) ? 1 : 0));
}

/**
 * Same shape: which member each target takes. Targets naming their source take it; targets naming a rack take that
 * rack's next member; the others take the remaining members in order. Without targets, every member is restored onto
 * a node of its own address.
 */
export function mapTargets(manifest: ClusterManifest, targets: readonly TargetSpec[]): { target: string; member: ClusterMember }[] {
  if (targets.length === 0) return manifest.members.map((m) => ({ target: m.address, member: m }));
  if (targets.length !== manifest.members.length) {
    throw new UsageError(`same-shape restore needs as many targets as members (${manifest.members.length}), got ${targets.length}; ` +
      'for another size use --load');
  }
  const left = memberOrder(manifest.members);
  const take = (m: ClusterMember) => left.splice(left.indexOf(m), 1);
  const out = new Map<string, ClusterMember>();
  for (const t of targets.filter((x) => x.source !== undefined)) {
    const m = findMember(manifest, t.source ?? '');
    if (!left.includes(m)) throw new UsageError(`member ${m.address} is the source of two targets`);
    take(m);
    out.set(t.address, m);
  }
  for (const t of targets.filter((x) => x.source === undefined && x.rack !== undefined)) {
    const m = left.find((x) => x.rack === t.rack);
    if (m === undefined) throw new UsageError(`no member of rack ${t.rack} left for target ${t.address}`);
    take(m);
    out.set(t.address, m);
  }
  for (const t of targets.filter((x) => x.source === undefined && x.rack === undefined)) {
    const m = left[0];
    if (m === undefined) break;
    take(m);
    out.set(t.address, m);
  }
  return targets.map((t) => ({ target: t.address, member: out.get(t.address) as ClusterMember }));
}

export function sameShapePlan(manifest: ClusterManifest, contents: ReadonlyMap<string, MemberContent>, targets: readonly TargetSpec[]):
  SameShapeTarget[] {
  const rate = backupRate(manifest.members);
  return mapTargets(manifest, targets).map(({ target, member }) => {
    const { files, bytes } = totalOf(contents.get(member.hostId), (ks) => !NODE_LOCAL_KEYSPACES.includes(ks));
    return { target, member, files, bytes, estimateSeconds: estimate(bytes, rate) };
  });
}

/**
 * Load: per user keyspace, the members whose backups cover every range once; their (member, keyspace) pairs split
 * into `shares` disjoint shares. `keyspaces` limits it (a --table filter).
 */
export function loadPlan(manifest: ClusterManifest, contents: ReadonlyMap<string, MemberContent>, shares: number,
  targets: readonly string[], keyspaces?: ReadonlySet<string>): { shares: LoadShare[]; cover: KeyspaceCover[] } {
  const rate = backupRate(manifest.members);
  const byHost = new Map(manifest.members.map((m) => [m.hostId, m]));
  const units: LoadUnit[] = [];
  const cover: KeyspaceCover[] = [];
  for (const ks of manifest.keyspaces.filter((k) => keyspaces === undefined || keyspaces.has(k.name))) {
    const inKeyspace = (hostId: string) => contents.get(hostId)?.byKeyspace.get(ks.name) ?? { files: 0, bytes: 0 };
    const chosen = coveringMembers(manifest.members, ks, (hostId) => inKeyspace(hostId).bytes);
    const backupBytes = manifest.members.reduce((sum, m) => sum + inKeyspace(m.hostId).bytes, 0);
    let loadBytes = 0;
    for (const hostId of chosen) {
      const member = byHost.get(hostId);
      const { files, bytes } = inKeyspace(hostId);
      if (member === undefined || files === 0) continue;
      units.push({ id: `${member.nodeId}/${ks.name}`, member, keyspace: ks.name, files, bytes });
      loadBytes += bytes;
    }
    const kept = copiesKept(manifest.members, ks);
    cover.push({ keyspace: ks.name, members: chosen, copiesKept: kept, backupBytes, loadBytes, oneCopyBytes: Math.round(backupBytes / kept) });
  }
  const split = splitIntoShares(units, shares);
  return {
    cover,
    shares: split.map((u, i) => {
      const bytes = u.reduce((s, x) => s + x.bytes, 0);
      return { share: i + 1, target: targets[i], units: u, files: u.reduce((s, x) => s + x.files, 0), bytes, estimateSeconds: estimate(bytes, rate) };
    }),
  };
}

/** The settings a new node must start with to own the same ranges as its source member. */
export function tokenSettings(member: ClusterMember): { initialToken: string; numTokens: number; lines: string[] } {
  const sorted = [...member.tokens].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  const initialToken = sorted.join(',');
  return {
    initialToken, numTokens: sorted.length,
    lines: [
      `num_tokens: ${sorted.length}`, `initial_token: ${initialToken}`, 'auto_bootstrap: false',
      `# cassandra-rackdc.properties: dc=${member.dataCenter} rack=${member.rack}`,
    ],
  };
}

/** `--targets a,b@r2,c=10.0.0.1`: addresses, optionally with the rack they will be in or the source they take. */
export function parseTargets(specs: readonly string[]): TargetSpec[] {
  return specs.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean).map((spec) => {
    const [left = '', source] = spec.split('=');
    const [address = '', rack] = left.split('@');
    if (address === '' || source === '') throw new UsageError(`--targets: cannot read "${spec}" (ADDRESS, ADDRESS@RACK or ADDRESS=SOURCE)`);
    return { address, ...(rack !== undefined && rack !== '' && { rack }), ...(source !== undefined && { source }) };
  });
}

/** `--share K/N`. */
export function parseShare(spec: string): { share: number; of: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const share = Number(m?.[1]);
  const of = Number(m?.[2]);
  if (m === null || share < 1 || of < 1 || share > of) throw new UsageError(`--share: expected K/N with 1 <= K <= N, got "${spec}"`);
  return { share, of };
}

