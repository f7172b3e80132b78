// Cluster backups coordinated through the bucket (DESIGN section 11). A node joins with a create-only member record
// (the ring as it sees it), writes its node manifest as every backup does, then a create-only completion record;
// whichever run first sees every expected member complete writes the cluster manifest, create-only (a lost race
// leaves the first one in place). `list`/`verify --cluster` call the same completion, so no single node has to be
// the last one for the cluster manifest to appear. Costs: joining and completing are one write each, a completion
// check is one listing while members are missing; only the run that writes the cluster manifest reads every record.
import { text } from 'node:stream/consumers';
import { isAlreadyExists, type Backend, type ObjectInfo } from '../storage/backend.ts';
import { chunksSource } from '../storage/source.ts';
import { readImmutable } from '../catalog/catalog.ts';
import { locateInTable } from '../cassandra/layout.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { createKeyspaceStatement, isUserKeyspace, type KeyspaceReplication, type RingMember } from '../cassandra/ring.ts';
import { forEachLimit } from '../upload/pool.ts';
import { backupPrefix, classifyClusterKey, clusterManifestKey, clusterPrefix, clustersPrefix, completeKey, memberKey } from './keys.ts';
import {
  CLUSTER_FORMAT, expectedMembers, parseClusterManifest, parseCompleteRecord, parseMemberRecord, skewSeconds,
  type ClusterManifest, type ClusterMember, type CompleteRecord, type MemberRecord, type TableSchema,
} from './records.ts';

export interface ClusterCatalogDeps {
  readonly backend: Backend;
  readonly signal: AbortSignal;
  readonly concurrency: number;
  /** Local cache of documents that never change (cluster manifests); undefined reads without one. */
  readonly cacheDir: string | undefined;
}

/** One cluster backup as the bucket shows it now. */
export interface ClusterBackupState {
  readonly cluster: string;
  readonly id: string;
  readonly records: readonly MemberRecord[];
  readonly expected: readonly RingMember[];
  /** Completion records of the members that completed, by host id. */
  readonly completed: ReadonlyMap<string, CompleteRecord>;
  /** Expected members that never joined, or joined and did not complete (failed, or still running). */
  readonly missing: readonly { readonly member: RingMember; readonly joined: boolean }[];
  readonly manifest: ClusterManifest | undefined;
  /** Records or manifests that could not be read: the state is then not trusted to be complete. */
  readonly problems: readonly string[];
}

/** Records that this node joined. Create-only: a record already there (a rerun in the same slot) must be this host's. */
export async function joinClusterBackup(deps: ClusterCatalogDeps, record: MemberRecord): Promise<'joined' | 'already'> {
  const key = memberKey(record.cluster, record.id, record.hostId);
  if (await putOnce(deps, key, record)) return 'joined';
  const existing = parseMemberRecord(await read(deps, key), key);
  if (existing.nodeId !== record.nodeId) {
    throw new Error(`Cassandra host ${record.hostId} already joined cluster backup ${record.id} as node id ${existing.nodeId}, ` +
      `not ${record.nodeId}: two node ids for one Cassandra host`);
  }
  return 'already';
}

/** Records, after its node manifest is written, that this member is complete. */
export async function markComplete(deps: ClusterCatalogDeps, cluster: string, id: string, record: CompleteRecord): Promise<void> {
  await putOnce(deps, completeKey(cluster, id, record.hostId), record);
}

/** What a member's completion record says of its node manifest. */
export function completeRecordOf(manifest: Manifest, hostId: string, manifestKey: string, keyspaces: readonly KeyspaceReplication[]): CompleteRecord {
  const user = new Set(keyspaces.filter(isUserKeyspace).map((k) => k.name));
  const schemaKeys: Record<string, string> = {};
  for (const f of manifest.files) {
    const loc = locateInTable(f.path);
    if (loc?.area === 'snapshot' && loc.inner.join('/') === 'schema.cql' && (user.size === 0 ? !loc.keyspace.startsWith('system') : user.has(loc.keyspace))) {
      schemaKeys[`${loc.keyspace}.${loc.table}`] = f.key;
    }
  }
  return {
    format: CLUSTER_FORMAT, hostId, nodeId: manifest.nodeId, manifestKey, snapshotAt: manifest.snapshotAt ?? manifest.startedAt,
    finishedAt: manifest.finishedAt, files: manifest.totals.files, bytes: manifest.totals.bytes, schemaKeys,
  };
}

/** The host ids that joined so far, and those that completed (one listing). */
export async function progressOf(deps: ClusterCatalogDeps, cluster: string, id: string): Promise<{ joined: Set<string>; completed: Set<string>; manifest: boolean }> {
  const joined = new Set<string>();
  const completed = new Set<string>();
  let manifest = false;
  for (const o of await listAll(deps, backupPrefix(cluster, id))) {
    const c = classifyClusterKey(o.key);
    if (c?.member !== undefined) joined.add(c.member);
    else if (c?.complete !== undefined) completed.add(c.complete);
    else if (c?.manifest) manifest = true;
  }
  return { joined, completed, manifest };
}

export async function readClusterBackup(deps: ClusterCatalogDeps, cluster: string, id: string, listed?: readonly ObjectInfo[]):
  Promise<ClusterBackupState> {
  const objects = listed ?? await listAll(deps, backupPrefix(cluster, id));
  const problems: string[] = [];
  const records: MemberRecord[] = [];
  const completed = new Map<string, CompleteRecord>();
  let manifest: ClusterManifest | undefined;
  await forEachLimit(objects, deps.concurrency, deps.signal, async (o) => {
    const c = classifyClusterKey(o.key);
    try {
      if (c?.member !== undefined) records.push(parseMemberRecord(await read(deps, o.key), o.key));
      else if (c?.complete !== undefined) completed.set(c.complete, parseCompleteRecord(await read(deps, o.key), o.key));
      else if (c?.manifest) manifest = parseClusterManifest(await read(deps, o.key), o.key);
    } catch (err) {
      problems.push(`${o.key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  const expected = expectedMembers(records);
  const joined = new Set(records.map((r) => r.hostId));
  const missing = expected.filter((m) => !completed.has(m.hostId)).map((member) => ({ member, joined: joined.has(member.hostId) }));
  return { cluster, id, records: records.sort((a, b) => a.hostId.localeCompare(b.hostId)), expected, completed, missing, manifest, problems };
}

/**
 * Writes the cluster manifest when every expected member is complete (each node manifest confirmed in the store)
 * and it is not there yet; returns the cluster manifest in the bucket afterwards (ours, or the one another run
 * wrote first), or undefined when the backup is not complete.
 */
export async function completeClusterBackup(deps: ClusterCatalogDeps, state: ClusterBackupState, writtenBy: string, now: Date):
  Promise<ClusterManifest | undefined> {
  if (state.manifest !== undefined) return state.manifest;
  if (state.missing.length > 0 || state.problems.length > 0 || state.records.length === 0) return undefined;
  for (const c of state.completed.values()) {
    if ((await deps.backend.stat(c.manifestKey, { signal: deps.signal })) === undefined) return undefined; // purged since
  }
  const manifest = await buildClusterManifest(deps, state, writtenBy, now);
  const key = clusterManifestKey(state.cluster, state.id);
  if (await putOnce(deps, key, manifest)) return manifest;
  return parseClusterManifest(await read(deps, key), key); // another run completed it first: theirs stands
}

async function buildClusterManifest(deps: ClusterCatalogDeps, state: ClusterBackupState, writtenBy: string, now: Date): Promise<ClusterManifest> {
  const members: ClusterMember[] = state.expected.map((m) => {
    const record = state.records.find((r) => r.hostId === m.hostId);
    const done = state.completed.get(m.hostId);
    if (record === undefined || done === undefined) throw new Error(`internal: member ${m.hostId} is not complete`);
    return {
      hostId: m.hostId, address: record.address, dataCenter: record.dataCenter, rack: record.rack, tokens: record.tokens,
      nodeId: record.nodeId, manifestKey: done.manifestKey, snapshotAt: done.snapshotAt, finishedAt: done.finishedAt,
      files: done.files, bytes: done.bytes,
    };
  });
  const first = state.records[0];
  const keyspaces = (first?.keyspaces ?? []).filter(isUserKeyspace);
  return {
    format: CLUSTER_FORMAT, clusterName: first?.clusterName ?? state.cluster, cluster: state.cluster, id: state.id,
    partitioner: first?.partitioner, members, skewSeconds: skewSeconds(members.map((m) => m.snapshotAt)), keyspaces,
    schema: { keyspaces: keyspaces.map(createKeyspaceStatement), tables: await tableSchemas(deps, [...state.completed.values()]) },
    totals: { members: members.length, files: sum(members.map((m) => m.files)), bytes: sum(members.map((m) => m.bytes)) },
    completedAt: now.toISOString(), writtenBy,
  };
}

/** Each user table's CREATE statement (Cassandra's schema.cql), from the first member whose snapshot holds it. */
async function tableSchemas(deps: ClusterCatalogDeps, completed: readonly CompleteRecord[]): Promise<TableSchema[]> {
  const byTable = new Map<string, string>();
  for (const c of completed) for (const [table, key] of Object.entries(c.schemaKeys)) if (!byTable.has(table)) byTable.set(table, key);
  const out: TableSchema[] = [];
  await forEachLimit([...byTable.entries()], deps.concurrency, deps.signal, async ([name, key]) => {
    const [keyspace = '', table = ''] = name.split('.');
    out.push({ keyspace, table, cql: await read(deps, key) });
  });
  return out.sort((a, b) => `${a.keyspace}.${a.table}`.localeCompare(`${b.keyspace}.${b.table}`));
}

/** Every cluster backup under the destination (or of one cluster): one listing, then what each needs. */
export async function listClusterBackups(deps: ClusterCatalogDeps, cluster?: string): Promise<ClusterBackupState[]> {
  const groups = new Map<string, ObjectInfo[]>();
  for (const o of await listAll(deps, cluster === undefined ? clustersPrefix() : clusterPrefix(cluster))) {
    const c = classifyClusterKey(o.key);
    if (c === undefined) continue;
    const id = `${c.cluster}\0${c.id}`;
    groups.set(id, [...(groups.get(id) ?? []), o]);
  }
  const out: ClusterBackupState[] = [];
  await forEachLimit([...groups.entries()], deps.concurrency, deps.signal, async ([id, objects]) => {
    const [c = '', b = ''] = id.split('\0');
    const manifest = objects.find((o) => classifyClusterKey(o.key)?.manifest);
    // A complete one is known from its cluster manifest alone (cached: it never changes), so that a year of daily
    // backups of a large cluster lists in seconds; only the incomplete ones are looked at member by member.
    out.push(manifest !== undefined ? await completeState(deps, c, b, manifest) : await readClusterBackup(deps, c, b, objects));
  });
  return out.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.id.localeCompare(b.id));
}

async function completeState(deps: ClusterCatalogDeps, cluster: string, id: string, object: ObjectInfo): Promise<ClusterBackupState> {
  let manifest: ClusterManifest | undefined;
  let problem: string | undefined;
  await readImmutable(deps.backend, object, deps.cacheDir, (body) => {
    try {
      manifest = parseClusterManifest(body, object.key);
      return true;
    } catch (err) {
      problem = `${object.key}: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    }
  });
  return { cluster, id, records: [], expected: [], completed: new Map(), missing: [], manifest, problems: problem === undefined ? [] : [problem] };
}

/** A create-only write of a JSON document; false when one was there already. */
async function putOnce(deps: ClusterCatalogDeps, key: string, doc: unknown): Promise<boolean> {
  try {
    await deps.backend.put(key, chunksSource([Buffer.from(`${JSON.stringify(doc, null, 1)}\n`)]), { signal: deps.signal, createOnly: true });
    return true;
  } catch (err) {
    if (isAlreadyExists(err)) return false;
    throw err;
  }
}

async function read(deps: ClusterCatalogDeps, key: string): Promise<string> {
  return text(await deps.backend.get(key, { signal: deps.signal }));
}

async function listAll(deps: ClusterCatalogDeps, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of deps.backend.list(prefix, { signal: deps.signal })) out.push(o);
  return out;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
