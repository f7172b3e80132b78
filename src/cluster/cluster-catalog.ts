// Cluster backups coordinated through the bucket (DESIGN section 11): a node joins with a create-only member record,
// writes its node manifest as every backup does, and whichever run first sees every expected member complete writes
// the cluster manifest, create-only (a lost race leaves the first one in place). `list`/`verify --cluster` call the
// same completion, so no single node has to be the last one for the cluster manifest to appear.
import { text } from 'node:stream/consumers';
import { isAlreadyExists, type Backend, type ObjectInfo } from '../storage/backend.ts';
import { chunksSource } from '../storage/source.ts';
import { readCatalogEntry, readImmutable } from '../catalog/catalog.ts';
import { tagOfManifestKey } from '../catalog/keys.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { locateInTable } from '../cassandra/layout.ts';
import { createKeyspaceStatement, isUserKeyspace, type RingMember } from '../cassandra/ring.ts';
import { forEachLimit } from '../upload/pool.ts';
import { backupPrefix, classifyClusterKey, clusterManifestKey, clusterPrefix, clustersPrefix, memberKey } from './keys.ts';
import {
  CLUSTER_FORMAT, expectedMembers, parseClusterManifest, parseMemberRecord, skewSeconds,
  type ClusterManifest, type ClusterMember, type MemberRecord, type TableSchema,
} from './records.ts';

export interface ClusterCatalogDeps {
  readonly backend: Backend;
  readonly signal: AbortSignal;
  readonly concurrency: number;
  /** Local cache of node manifests (they never change); undefined reads without one. */
  readonly cacheDir: string | undefined;
}

/** One cluster backup as the bucket shows it now. */
export interface ClusterBackupState {
  readonly cluster: string;
  readonly id: string;
  readonly records: readonly MemberRecord[];
  readonly expected: readonly RingMember[];
  /** Node manifests of the members that completed, by host id. */
  readonly completed: ReadonlyMap<string, Manifest>;
  /** Expected members that never joined, or joined and have no manifest (failed, or still running). */
  readonly missing: readonly { readonly member: RingMember; readonly joined: boolean }[];
  readonly manifest: ClusterManifest | undefined;
  /** Records or manifests that could not be read: the state is then not trusted to be complete. */
  readonly problems: readonly string[];
}

/** Records that this node joined. Create-only: a record already there (a rerun in the same slot) must be this host's. */
export async function joinClusterBackup(deps: ClusterCatalogDeps, record: MemberRecord): Promise<'joined' | 'already'> {
  const key = memberKey(record.cluster, record.id, record.hostId);
  try {
    await deps.backend.put(key, chunksSource([Buffer.from(`${JSON.stringify(record, null, 1)}\n`)]), { signal: deps.signal, createOnly: true });
    return 'joined';
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = parseMemberRecord(await text(await deps.backend.get(key, { signal: deps.signal })), key);
    if (existing.nodeId !== record.nodeId) {
      throw new Error(`Cassandra host ${record.hostId} already joined cluster backup ${record.id} as node id ${existing.nodeId}, ` +
        `not ${record.nodeId}: two node ids for one Cassandra host`);
    }
    return 'already';
  }
}

/** The host ids that joined so far (for --cluster-wait). */
export async function joinedHostIds(deps: ClusterCatalogDeps, cluster: string, id: string): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of deps.backend.list(`${backupPrefix(cluster, id)}members/`, { signal: deps.signal })) {
    const c = classifyClusterKey(o.key);
    if (c?.member !== undefined) out.add(c.member);
  }
  return out;
}

export async function readClusterBackup(deps: ClusterCatalogDeps, cluster: string, id: string, listed?: readonly ObjectInfo[]):
  Promise<ClusterBackupState> {
  const objects = listed ?? await listAll(deps, backupPrefix(cluster, id));
  const problems: string[] = [];
  const records: MemberRecord[] = [];
  let manifest: ClusterManifest | undefined;
  await forEachLimit(objects, deps.concurrency, deps.signal, async (o) => {
    const c = classifyClusterKey(o.key);
    try {
      if (c?.member !== undefined) records.push(parseMemberRecord(await read(deps, o.key), o.key));
      else if (c?.manifest) manifest = parseClusterManifest(await read(deps, o.key), o.key);
    } catch (err) {
      problems.push(`${o.key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  const expected = expectedMembers(records);
  const byHost = new Map(records.map((r) => [r.hostId, r]));
  const completed = new Map<string, Manifest>();
  await forEachLimit([...byHost.values()], deps.concurrency, deps.signal, async (r) => {
    try {
      const m = await nodeManifest(deps, r);
      if (m !== undefined) completed.set(r.hostId, m);
    } catch (err) {
      problems.push(`${r.manifestKey}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  const missing = expected.filter((m) => !completed.has(m.hostId)).map((member) => ({ member, joined: byHost.has(member.hostId) }));
  return { cluster, id, records: records.sort((a, b) => a.hostId.localeCompare(b.hostId)), expected, completed, missing, manifest, problems };
}

/**
 * Writes the cluster manifest when every expected member is complete and it is not there yet; returns the cluster
 * manifest that is in the bucket afterwards (ours, or the one another run wrote first), or undefined when the
 * backup is not complete.
 */
export async function completeClusterBackup(deps: ClusterCatalogDeps, state: ClusterBackupState, writtenBy: string, now: Date):
  Promise<ClusterManifest | undefined> {
  if (state.manifest !== undefined) return state.manifest;
  if (state.missing.length > 0 || state.problems.length > 0 || state.records.length === 0) return undefined;
  const manifest = await buildClusterManifest(deps, state, writtenBy, now);
  const key = clusterManifestKey(state.cluster, state.id);
  try {
    await deps.backend.put(key, chunksSource([Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`)]), { signal: deps.signal, createOnly: true });
    return manifest;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    return parseClusterManifest(await read(deps, key), key); // another run completed it first: theirs stands
  }
}

async function buildClusterManifest(deps: ClusterCatalogDeps, state: ClusterBackupState, writtenBy: string, now: Date): Promise<ClusterManifest> {
  const members: ClusterMember[] = state.expected.map((m) => {
    const record = state.records.find((r) => r.hostId === m.hostId);
    const manifest = state.completed.get(m.hostId);
    if (record === undefined || manifest === undefined) throw new Error(`internal: member ${m.hostId} is not complete`);
    return {
      hostId: m.hostId, address: record.address, dataCenter: record.dataCenter, rack: record.rack, tokens: record.tokens,
      nodeId: record.nodeId, manifestKey: record.manifestKey, snapshotAt: manifest.snapshotAt ?? manifest.startedAt,
      finishedAt: manifest.finishedAt, files: manifest.totals.files, bytes: manifest.totals.bytes,
    };
  });
  const first = state.records[0];
  const keyspaces = (first?.keyspaces ?? []).filter(isUserKeyspace);
  return {
    format: CLUSTER_FORMAT, clusterName: first?.clusterName ?? state.cluster, cluster: state.cluster, id: state.id,
    partitioner: first?.partitioner, members, skewSeconds: skewSeconds(members.map((m) => m.snapshotAt)), keyspaces,
    schema: { keyspaces: keyspaces.map(createKeyspaceStatement), tables: await tableSchemas(deps, [...state.completed.values()], keyspaces.map((k) => k.name)) },
    totals: { members: members.length, files: sum(members.map((m) => m.files)), bytes: sum(members.map((m) => m.bytes)) },
    completedAt: now.toISOString(), writtenBy,
  };
}

/** Each user table's CREATE statement, from the first member whose snapshot holds its schema.cql. */
async function tableSchemas(deps: ClusterCatalogDeps, manifests: readonly Manifest[], keyspaces: readonly string[]): Promise<TableSchema[]> {
  const wanted = new Set(keyspaces);
  const byTable = new Map<string, { keyspace: string; table: string; key: string }>();
  for (const m of manifests) {
    for (const f of m.files) {
      const loc = locateInTable(f.path);
      if (loc === undefined || loc.area !== 'snapshot' || loc.inner.join('/') !== 'schema.cql' || !wanted.has(loc.keyspace)) continue;
      const id = `${loc.keyspace}.${loc.table}`;
      if (!byTable.has(id)) byTable.set(id, { keyspace: loc.keyspace, table: loc.table, key: f.key });
    }
  }
  const out: TableSchema[] = [];
  await forEachLimit([...byTable.values()], deps.concurrency, deps.signal, async (t) => {
    out.push({ keyspace: t.keyspace, table: t.table, cql: await read(deps, t.key) });
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

async function nodeManifest(deps: ClusterCatalogDeps, r: MemberRecord): Promise<Manifest | undefined> {
  const object = await deps.backend.stat(r.manifestKey, { signal: deps.signal });
  if (object === undefined) return undefined;
  const tag = tagOfManifestKey(r.nodeId, r.manifestKey);
  if (tag === undefined) throw new Error(`member ${r.hostId} names ${r.manifestKey}, which is not a manifest of node ${r.nodeId}`);
  const entry = await readCatalogEntry(deps.backend, { nodeId: r.nodeId, tag, key: r.manifestKey, object }, deps.cacheDir);
  if (!('manifest' in entry)) throw new Error(entry.damaged.error);
  return entry.manifest;
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
