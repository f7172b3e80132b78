// Cluster backups coordinated through the bucket (DESIGN section 11). A node joins with a create-only member record
// (the ring as it sees it), writes its node manifest as every backup does, then a create-only completion record;
// whichever run first sees every expected member complete writes the cluster manifest, create-only (a lost race
// leaves the first one in place). `list`/`verify --cluster` call the same completion, so no single node has to be
// the last one for the cluster manifest to appear. Costs: joining and completing are one write each, a completion
// check is one listing while members are missing; only the run that writes the cluster manifest reads every record.
import { text } from 'node:stream/consumers';
import { isAlreadyExists, type Backend, type ObjectInfo } from '../storage/backend.ts';
import { chunksSource } from '../storage/source.ts';
import { readCatalogEntry, readDerived } from '../catalog/catalog.ts';
import { tagOfManifestKey } from '../catalog/keys.ts';
import { locateInTable } from '../cassandra/layout.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { createKeyspaceStatement, isUserKeyspace, type KeyspaceReplication } from '../cassandra/ring.ts';
import { forEachLimit } from '../upload/pool.ts';
import {
  backupPrefix, classifyClusterKey, clusterIndexKey, clusterIndexPrefix, clusterManifestKey, clusterPrefix, clustersPrefix, completeKey, memberKey,
  schemaKey,
} from './keys.ts';
import {
  CLUSTER_FORMAT, expectedMembers, parseClusterManifest, parseCompleteRecord, parseMemberRecord, skewSeconds,
  summarize, type ClusterManifest, type ClusterMember, type ClusterSummary, type CompleteRecord, type MemberRecord, type RingView,
  type TableSchema,
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
  readonly expected: readonly RingView[];
  /** Completion records of the members that completed, by host id. */
  readonly completed: ReadonlyMap<string, CompleteRecord>;
  /** Expected members that never joined, or joined and did not complete (failed, or still running). */
  readonly missing: readonly { readonly member: RingView; readonly joined: boolean }[];
  /** Set when the cluster manifest exists: the backup is complete. */
  readonly summary: ClusterSummary | undefined;
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
export function completeRecordOf(manifest: Manifest, hostId: string, manifestKey: string): CompleteRecord {
  return {
    format: CLUSTER_FORMAT, hostId, nodeId: manifest.nodeId, manifestKey, snapshotAt: manifest.snapshotAt ?? manifest.startedAt,
    finishedAt: manifest.finishedAt, files: manifest.totals.files, bytes: manifest.totals.bytes,
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
  let summary: ClusterSummary | undefined;
  await forEachLimit(objects, deps.concurrency, deps.signal, async (o) => {
    const c = classifyClusterKey(o.key);
    try {
      if (c?.member !== undefined) records.push(parseMemberRecord(await read(deps, o.key), o.key));
      else if (c?.complete !== undefined) completed.set(c.complete, parseCompleteRecord(await read(deps, o.key), o.key));
      else if (c?.manifest) summary = await summaryOf(deps, o);
    } catch (err) {
      problems.push(`${o.key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  await recoverCompletions(deps, records, completed, problems);
  const expected = expectedMembers(records);
  const joined = new Set(records.map((r) => r.hostId));
  const missing = expected.filter((m) => !completed.has(m.hostId)).map((member) => ({ member, joined: joined.has(member.hostId) }));
  return { cluster, id, records: records.sort((a, b) => a.hostId.localeCompare(b.hostId)), expected, completed, missing, summary, problems };
}

/**
 * A member whose node manifest is in the bucket but whose completion record is not (its run stopped, or could not
 * write it, between the two) is complete: its record is written now, from the manifest.
 */
async function recoverCompletions(deps: ClusterCatalogDeps, records: readonly MemberRecord[], completed: Map<string, CompleteRecord>,
  problems: string[]): Promise<void> {
  await forEachLimit(records.filter((r) => !completed.has(r.hostId)), deps.concurrency, deps.signal, async (r) => {
    try {
      const object = await deps.backend.stat(r.manifestKey, { signal: deps.signal });
      const tag = tagOfManifestKey(r.nodeId, r.manifestKey);
      if (object === undefined || tag === undefined) return;
      const entry = await readCatalogEntry(deps.backend, { nodeId: r.nodeId, tag, key: r.manifestKey, object }, deps.cacheDir);
      if (!('manifest' in entry)) throw new Error(entry.damaged.error);
      const record = completeRecordOf(entry.manifest, r.hostId, r.manifestKey);
      await putOnce(deps, completeKey(r.cluster, r.id, r.hostId), record).catch(() => false); // a read-only caller may not
      completed.set(r.hostId, record);
    } catch (err) {
      problems.push(`${r.manifestKey}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

/**
 * Writes the cluster manifest when every expected member is complete (each node manifest confirmed in the store)
 * and it is not there yet; returns the cluster manifest in the bucket afterwards (ours, or the one another run
 * wrote first), or undefined when the backup is not complete.
 */
export async function completeClusterBackup(deps: ClusterCatalogDeps, state: ClusterBackupState, writtenBy: string, now: Date):
  Promise<ClusterSummary | undefined> {
  if (state.summary !== undefined) return state.summary;
  if (state.missing.length > 0 || state.problems.length > 0 || state.records.length === 0) return undefined;
  for (const c of state.completed.values()) {
    if ((await deps.backend.stat(c.manifestKey, { signal: deps.signal })) === undefined) return undefined; // purged since
  }
  const manifest = await buildClusterManifest(deps, state, writtenBy, now);
  const key = clusterManifestKey(state.cluster, state.id);
  // Another run may have completed it first: theirs stands.
  const summary = summarize(await putOnce(deps, key, manifest) ? manifest : parseClusterManifest(await read(deps, key), key));
  await index(deps, state.cluster, summary);
  return summary;
}

/** The index entry of a complete cluster backup (create-only; written after its cluster manifest). */
async function index(deps: ClusterCatalogDeps, cluster: string, summary: ClusterSummary): Promise<void> {
  await putOnce(deps, clusterIndexKey(cluster, summary.id), summary);
}

/** A cluster manifest's summary, cached per host by the manifest's identity (it is never rewritten). */
async function summaryOf(deps: ClusterCatalogDeps, object: ObjectInfo): Promise<ClusterSummary> {
  return readDerived(deps.backend, object, deps.cacheDir, 'cluster-summary', (body) => summarize(parseClusterManifest(body, object.key)), deps.signal);
}

/** The whole cluster manifest of a complete backup (restore needs it; list and purge need only the summary). */
export async function readClusterManifest(deps: ClusterCatalogDeps, cluster: string, id: string): Promise<ClusterManifest | undefined> {
  const key = clusterManifestKey(cluster, id);
  const object = await findObject(deps, key);
  return object === undefined ? undefined : parseClusterManifest(await read(deps, key), key);
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
  const statements = keyspaces.map(createKeyspaceStatement);
  const tables = await tableSchemas(deps, [...state.completed.values()], keyspaces);
  const cqlKey = schemaKey(state.cluster, state.id);
  const cql = [...statements, ...tables.map((t) => t.cql.trim())].join('\n\n');
  // Before the manifest, which names it; create-only (an identical one from a racing writer is as good).
  await putText(deps, cqlKey, `${cql}\n`);
  return {
    format: CLUSTER_FORMAT, clusterName: first?.clusterName ?? state.cluster, cluster: state.cluster, id: state.id,
    partitioner: first?.partitioner, members, skewSeconds: skewSeconds(members.map((m) => m.snapshotAt)), keyspaces,
    schema: { keyspaces: statements, tables: tables.map((t) => ({ keyspace: t.keyspace, table: t.table })), cqlKey },
    totals: { members: members.length, files: sum(members.map((m) => m.files)), bytes: sum(members.map((m) => m.bytes)) },
    completedAt: now.toISOString(), writtenBy,
  };
}

/**
 * Each user table's CREATE statement (Cassandra's schema.cql): the schema is the cluster's, and every node's snapshot
 * holds a schema.cql for every table, so one member's manifest names them all.
 */
async function tableSchemas(deps: ClusterCatalogDeps, completed: readonly CompleteRecord[], keyspaces: readonly KeyspaceReplication[]):
  Promise<TableSchema[]> {
  const first = completed[0];
  if (first === undefined) return [];
  const object = await deps.backend.stat(first.manifestKey, { signal: deps.signal });
  const tag = tagOfManifestKey(first.nodeId, first.manifestKey);
  if (object === undefined || tag === undefined) return [];
  const entry = await readCatalogEntry(deps.backend, { nodeId: first.nodeId, tag, key: first.manifestKey, object }, deps.cacheDir);
  if (!('manifest' in entry)) throw new Error(`manifest ${first.manifestKey}: ${entry.damaged.error}`);
  const user = new Set(keyspaces.map((k) => k.name));
  const byTable = new Map<string, string>();
  for (const f of entry.manifest.files) {
    const loc = locateInTable(f.path);
    if (loc?.area === 'snapshot' && loc.inner.join('/') === 'schema.cql' && user.has(loc.keyspace)) byTable.set(`${loc.keyspace}.${loc.table}`, f.key);
  }
  const out: TableSchema[] = [];
  await forEachLimit([...byTable.entries()], deps.concurrency, deps.signal, async ([name, key]) => {
    const [keyspace = '', table = ''] = name.split('.');
    out.push({ keyspace, table, cql: await read(deps, key) });
  });
  return out.sort((a, b) => `${a.keyspace}.${a.table}`.localeCompare(`${b.keyspace}.${b.table}`));
}

/**
 * Every cluster backup under the destination (or of one cluster). The ids come from a delimited listing (one page
 * per thousand backups); a complete one is known from its cluster manifest alone (one HEAD, and a cached read: it
 * never changes), so a year of daily backups of a large cluster lists in seconds; only incomplete ones are read
 * member by member.
 */
export async function listClusterBackups(deps: ClusterCatalogDeps, cluster?: string): Promise<ClusterBackupState[]> {
  const clusters = cluster === undefined ? await deps.backend.listDirs(clustersPrefix(), { signal: deps.signal }) : [cluster];
  const work: { cluster: string; id: string; indexed: ObjectInfo | undefined }[] = [];
  for (const c of clusters) {
    const indexed = new Map<string, ObjectInfo>();
    for (const o of await listAll(deps, clusterIndexPrefix(c))) indexed.set(o.key.slice(clusterIndexPrefix(c).length, -'.json'.length), o);
    for (const id of await deps.backend.listDirs(clusterPrefix(c), { signal: deps.signal })) work.push({ cluster: c, id, indexed: indexed.get(id) });
  }
  const out: ClusterBackupState[] = [];
  await forEachLimit(work, deps.concurrency, deps.signal, async ({ cluster: c, id, indexed }) => {
    out.push(indexed !== undefined ? await indexedState(deps, c, id, indexed) : await unindexedState(deps, c, id));
  });
  return out.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.id.localeCompare(b.id));
}

/** A complete backup known from its index entry (a summary, cached by the entry's identity: it never changes). */
async function indexedState(deps: ClusterCatalogDeps, cluster: string, id: string, object: ObjectInfo): Promise<ClusterBackupState> {
  const base = { cluster, id, records: [], expected: [], completed: new Map<string, CompleteRecord>(), missing: [] };
  try {
    const summary = await readDerived(deps.backend, object, deps.cacheDir, 'cluster-index', (body) => JSON.parse(body) as ClusterSummary, deps.signal);
    return { ...base, summary, problems: [] };
  } catch (err) {
    return { ...base, summary: undefined, problems: [`${object.key}: ${err instanceof Error ? err.message : String(err)}`] };
  }
}

/** Not in the index: incomplete, or complete by a run that stopped before indexing it (then indexed now). */
async function unindexedState(deps: ClusterCatalogDeps, cluster: string, id: string): Promise<ClusterBackupState> {
  const state = await readClusterBackup(deps, cluster, id);
  if (state.summary !== undefined) await index(deps, cluster, state.summary).catch(() => undefined); // a read-only caller may not
  return state;
}

/** An object's listing entry (a listing of its own key: cheap on every store, unlike file://'s checksumming stat). */
async function findObject(deps: ClusterCatalogDeps, key: string): Promise<ObjectInfo | undefined> {
  for await (const o of deps.backend.list(key, { signal: deps.signal })) if (o.key === key) return o;
  return undefined;
}

/** A create-only write of a JSON document; false when one was there already. */
async function putOnce(deps: ClusterCatalogDeps, key: string, doc: unknown): Promise<boolean> {
  return putText(deps, key, `${JSON.stringify(doc, null, 1)}\n`);
}

async function putText(deps: ClusterCatalogDeps, key: string, body: string): Promise<boolean> {
  try {
    await deps.backend.put(key, chunksSource([Buffer.from(body)]), { signal: deps.signal, createOnly: true });
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
