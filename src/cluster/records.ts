// The documents of a cluster backup (DESIGN section 11): a member record per node that joined, and the cluster
// manifest written once every expected member is complete. Pure: shapes, parsing and the completeness rule.
import type { KeyspaceReplication, RingMember } from '../cassandra/ring.ts';

export const CLUSTER_FORMAT = 1;

/** A member of the ring without its tokens: enough to know who is expected, small enough to record on every node. */
export type RingView = Omit<RingMember, 'tokens'>;

/** Written create-only by a node when it joins a cluster backup, before its snapshot; never updated. */
export interface MemberRecord {
  readonly format: number;
  /** The cluster's name as Cassandra reports it, and its segment in the bucket. */
  readonly clusterName: string;
  readonly cluster: string;
  readonly id: string;
  readonly hostId: string;
  readonly address: string;
  readonly dataCenter: string;
  readonly rack: string;
  readonly tokens: readonly string[];
  /** Where this node's backups are (its node id), and the manifest that completes its part. */
  readonly nodeId: string;
  readonly manifestKey: string;
  readonly hostname: string;
  readonly joinedAt: string;
  readonly partitioner: string | undefined;
  /** The ring as this node saw it when it joined: who is expected (tokens left out: each member records its own). */
  readonly ring: readonly RingView[];
  readonly keyspaces: readonly KeyspaceReplication[];
}

/** Written create-only by a member once its node manifest is in the bucket: what the cluster manifest needs of it. */
export interface CompleteRecord {
  readonly format: number;
  readonly hostId: string;
  readonly nodeId: string;
  readonly manifestKey: string;
  readonly snapshotAt: string;
  readonly finishedAt: string;
  readonly files: number;
  readonly bytes: number;
}

export function parseCompleteRecord(text: string, key: string): CompleteRecord {
  const v = parseJson(text, key) as Partial<CompleteRecord>;
  if (v.format !== CLUSTER_FORMAT || typeof v.hostId !== 'string' || typeof v.manifestKey !== 'string') {
    throw new Error(`completion record ${key} is not one this version reads`);
  }
  return v as CompleteRecord;
}

/** A member as the cluster manifest records it: where it stood in the ring, and its completed backup. */
export type ClusterMember = Pick<MemberRecord, 'hostId' | 'address' | 'dataCenter' | 'rack' | 'tokens' | 'nodeId' | 'manifestKey'> &
  Pick<CompleteRecord, 'snapshotAt' | 'finishedAt' | 'files' | 'bytes'>;

export interface TableSchema {
  readonly keyspace: string;
  readonly table: string;
  /** Cassandra's own `schema.cql` of the table, from a member's snapshot. */
  readonly cql: string;
}

/**
 * The schema a restore onto an empty cluster recreates: the keyspaces' statements here, every statement (keyspaces,
 * then each table's CREATE from a member's snapshot) in one CQL file beside the cluster manifest (`cqlsh -f`),
 * written before it, create-only: the cluster manifest stays small enough to list a year of backups in seconds.
 */
export interface ClusterSchema {
  readonly keyspaces: readonly string[];
  readonly tables: readonly { readonly keyspace: string; readonly table: string }[];
  readonly cqlKey: string;
}

/** The cluster manifest: the cluster backup is complete. Written create-only, by whichever run sees it first. */
export interface ClusterManifest {
  readonly format: number;
  readonly clusterName: string;
  readonly cluster: string;
  readonly id: string;
  readonly partitioner: string | undefined;
  readonly members: readonly ClusterMember[];
  /** Seconds between the first and the last member's snapshot. */
  readonly skewSeconds: number;
  /** User keyspaces with their replication, and the statements that recreate them on an empty cluster. */
  readonly keyspaces: readonly KeyspaceReplication[];
  readonly schema: ClusterSchema;
  readonly totals: { readonly members: number; readonly files: number; readonly bytes: number };
  readonly completedAt: string;
  /** The node id or command that wrote it. */
  readonly writtenBy: string;
}

export function parseMemberRecord(text: string, key: string): MemberRecord {
  const v = parseJson(text, key) as Partial<MemberRecord>;
  const ok = v.format === CLUSTER_FORMAT && typeof v.hostId === 'string' && typeof v.nodeId === 'string' &&
    typeof v.manifestKey === 'string' && Array.isArray(v.ring) && Array.isArray(v.tokens);
  if (!ok) throw new Error(`member record ${key} is not one this version reads`);
  return v as MemberRecord;
}

export function parseClusterManifest(text: string, key: string): ClusterManifest {
  const v = parseJson(text, key) as Partial<ClusterManifest>;
  if (v.format !== CLUSTER_FORMAT || !Array.isArray(v.members) || typeof v.id !== 'string') {
    throw new Error(`cluster manifest ${key} is not one this version reads`);
  }
  return v as ClusterManifest;
}

function parseJson(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${key} is not valid JSON`, { cause: err });
  }
}

/**
 * Who must complete for the cluster backup to be complete: every node in Normal state (up or down: a down node
 * still owns data) in the ring as any member saw it when it joined. A node that was joining or that joined the
 * ring later is not expected.
 */
export function expectedMembers(records: readonly MemberRecord[]): RingView[] {
  const byHost = new Map<string, RingView>();
  for (const r of records) for (const m of r.ring) if (m.state === 'normal' && !byHost.has(m.hostId)) byHost.set(m.hostId, m);
  return [...byHost.values()].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
}

export function skewSeconds(times: readonly string[]): number {
  const ms = times.map((t) => Date.parse(t)).filter(Number.isFinite);
  return ms.length === 0 ? 0 : Math.round((Math.max(...ms) - Math.min(...ms)) / 100) / 10;
}

/** What `list --cluster`, `verify --cluster` and purge need of a complete cluster backup: small, cached per host. */
export interface ClusterSummary {
  readonly id: string;
  readonly members: readonly { readonly hostId: string; readonly address: string; readonly nodeId: string; readonly manifestKey: string }[];
  readonly skewSeconds: number;
  readonly totals: ClusterManifest['totals'];
  readonly completedAt: string;
  readonly writtenBy: string;
}

export function summarize(m: ClusterManifest): ClusterSummary {
  return {
    id: m.id, members: m.members.map((x) => ({ hostId: x.hostId, address: x.address, nodeId: x.nodeId, manifestKey: x.manifestKey })),
    skewSeconds: m.skewSeconds, totals: m.totals, completedAt: m.completedAt, writtenBy: m.writtenBy,
  };
}
