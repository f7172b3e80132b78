// The part every backup command shares: upload the enumerated files, then write the manifest last.
// A run with any failure writes no manifest, so a partial backup never looks complete.
import { journalPath, manifestCacheDir } from '../state-dir.ts';
import type { BackupKind, LocalFile } from '../domain.ts';
import { IncompleteError, UsageError } from '../errors.ts';
import { finishManifest, type CassandraFacts, type Manifest } from '../catalog/manifest.ts';
import { loadNodeManifests, referencedObjects, writeManifest } from '../catalog/catalog.ts';
import { manifestKey } from '../catalog/keys.ts';
import { announceBackup, type RunLease } from '../catalog/run-lease.ts';
import { describeDamaged } from '../catalog/damaged.ts';
import { openJournal } from '../upload/journal.ts';
import { uploadFiles, type UploadResult } from '../upload/run.ts';
import type { StoredRecord } from '../upload/plan.ts';
import type { BackupContext } from './context.ts';
import { cacheWrite } from './state-cache.ts';

export interface BackupRunInput {
  readonly command: string;
  readonly kind: BackupKind;
  readonly tag: string;
  readonly files: readonly LocalFile[];
  readonly startedAt: Date;
  /** May still be on its way (nodetool info runs while files upload). */
  readonly cassandra: CassandraFacts | Promise<CassandraFacts>;
  readonly nodetool?: { readonly command: readonly string[]; readonly exitCode: number };
  /** When this run took the snapshot with nodetool (undefined for a resumed or an incremental backup). */
  readonly snapshotAt?: Date | undefined;
  /** Name of the journal that survives failures of this backup (so a rerun does not resend). */
  readonly journalName: string;
  readonly vanishedIsFailure: boolean;
}

export interface BackupRunResult {
  readonly manifest: Manifest;
  readonly manifestKey: string;
  readonly upload: UploadResult;
}

/** A data directory with no table in it is almost always a wrong --data-dir or cassandra.yaml. */
export async function assertDataDirsHaveTables(ctx: BackupContext): Promise<void> {
  if (!(await ctx.enumerate.hasTables(ctx.dataDirs))) {
    throw new UsageError(`no Cassandra tables under ${ctx.dataDirs.join(', ')}: check --data-dir or cassandra.yaml`);
  }
}

export async function assertTagIsNew(ctx: BackupContext, tag: string): Promise<void> {
  const existing = await ctx.backend.stat(manifestKey(ctx.nodeId, tag), { signal: ctx.signal });
  if (existing) throw new UsageError(`a backup named "${tag}" already exists for node ${ctx.nodeId}; choose another tag`);
}

/** What a backup needs to know of the node's catalog before it stores anything. */
export interface NodeCatalog {
  /** Every object this node's manifests reference, by key. */
  readonly referenced: ReadonlyMap<string, StoredRecord>;
  /** The newest backup that names its Cassandra host id: whose backups this node id holds. */
  readonly owner: { readonly hostId: string; readonly tag: string; readonly hostname: string } | undefined;
}

/**
 * Runs a backup command's work while it is announced in the bucket (a lease other hosts see, so that a purge
 * anywhere leaves its objects alone): taken after the local lock, before any manifest is read, released last.
 */
export async function withBackupLease<T>(ctx: BackupContext, command: string, work: (lease: RunLease) => Promise<T>): Promise<T> {
  const remembered = await ctx.hostIds.remembered();
  const lease = await announceBackup(
    { nodeId: ctx.nodeId, kind: 'backup', command, hostname: ctx.hostname, pid: ctx.pid, stateDir: ctx.stateDir, bootId: ctx.bootId,
      toolVersion: ctx.toolVersion, cassandraHostId: remembered },
    { timeoutMs: ctx.leaseTimeoutMs },
    { backend: ctx.backend, now: ctx.now, signal: ctx.signal, warn: (message) => ctx.reporter.emit({ type: 'warning', message }) },
  );
  try {
    return await work(lease);
  } finally {
    await lease.release();
  }
}

/**
 * The node's catalog. Reading it first also proves the destination is reachable and readable (bucket exists,
 * credentials work) before anything is changed on the node; a Cassandra host id this state directory remembers
 * is checked against it at once.
 */
export async function loadCatalog(ctx: BackupContext): Promise<NodeCatalog> {
  const { manifests, damaged } = await loadNodeManifests(ctx.backend, ctx.nodeId, manifestCacheDir(ctx.stateDir), ctx.signal);
  const referenced = referencedObjects(manifests);
  for (const d of damaged) {
    ctx.reporter.emit({ type: 'warning', message: `${describeDamaged(d)}; none of them is overwritten by this backup` });
    // Unknown identity and checksum: a file under such a key is never taken for it, so its bytes get a key of their own.
    for (const f of d.files ?? []) if (!referenced.has(f.key)) referenced.set(f.key, { key: f.key, size: -1, mtimeMs: -1, ino: -1, crc32c: '' });
  }
  const catalog: NodeCatalog = { referenced, owner: ownerOf(manifests) };
  const remembered = await ctx.hostIds.remembered();
  if (remembered !== undefined) assertSameCassandraHost(ctx, catalog, remembered);
  return catalog;
}

function ownerOf(manifests: readonly Manifest[]): NodeCatalog['owner'] {
  const named = manifests.filter((m) => m.cassandra.hostId !== undefined);
  const newest = named.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1);
  return newest?.cassandra.hostId === undefined ? undefined
    : { hostId: newest.cassandra.hostId, tag: newest.tag, hostname: newest.hostname };
}

/** A node id holds one Cassandra node's backups: another host writing under it would mix two nodes' data. */
export function assertSameCassandraHost(ctx: BackupContext, catalog: NodeCatalog, hostId: string): void {
  const owner = catalog.owner;
  if (owner === undefined || owner.hostId === hostId || ctx.allowHostIdChange) return;
  throw new UsageError(
    `node id ${ctx.nodeId} holds the backups of Cassandra host ${owner.hostId} (latest: ${owner.tag}, from ${owner.hostname}), ` +
    `but this node is Cassandra host ${hostId}: refusing to mix them. Give this node its own --node-id, or pass ` +
    `--allow-host-id-change if it replaced that node and should continue its backups`);
}

export async function runBackup(
  input: BackupRunInput, catalog: NodeCatalog, lease: RunLease, ctx: BackupContext,
): Promise<BackupRunResult> {
  const referenced = catalog.referenced;
  const journal = await openJournal(journalPath(ctx.stateDir, ctx.nodeId, input.journalName),
    { warn: (message) => ctx.reporter.emit({ type: 'warning', message }) });
  const totalBytes = input.files.reduce((n, f) => n + f.size, 0);
  ctx.reporter.emit({ type: 'start', command: input.command, tag: input.tag, destination: ctx.backend.description,
    files: input.files.length, bytes: totalBytes });
  const upload = await uploadFiles(
    { files: input.files, nodeId: ctx.nodeId, layout: ctx.layout, dataDirs: ctx.dataDirs, referenced,
      journal, concurrency: ctx.concurrency, signal: ctx.signal, vanishedIsFailure: input.vanishedIsFailure,
      ...(ctx.encryption ? { encryption: ctx.encryption } : {}) },
    { backend: ctx.backend, reporter: ctx.reporter, openSource: (f) => ctx.files.openSource(f), hashFile: (f) => ctx.files.hashFile(f),
      exists: async (p) => (await ctx.files.identity(p)) !== undefined },
  );
  const notStored = input.files.length - upload.entries.length - upload.vanished.length;
  if (notStored > 0 || ctx.signal.aborted) {
    const first = upload.failures[0] ?? (ctx.signal.aborted ? 'interrupted' : 'not attempted');
    throw new IncompleteError(
      `${notStored} of ${input.files.length} files were not stored (first: ${first}); no manifest was written.`,
      upload.failures,
    );
  }
  const cassandra = await input.cassandra;
  if (cassandra.hostId !== undefined) {
    assertSameCassandraHost(ctx, catalog, cassandra.hostId);
    await lease.setCassandraHostId(cassandra.hostId);
  }
  const manifest = finishManifest({
    tool: { name: 'cass-backup-run', version: ctx.toolVersion }, nodeId: ctx.nodeId, kind: input.kind, tag: input.tag,
    layout: ctx.layout, startedAt: input.startedAt.toISOString(), finishedAt: ctx.now().toISOString(),
    ...(input.snapshotAt ? { snapshotAt: input.snapshotAt.toISOString() } : {}), cloud: ctx.cloud,
    hostname: ctx.hostname, cassandra, ...(input.nodetool ? { nodetool: input.nodetool } : {}),
    dataDirs: ctx.dataDirs, ...(ctx.backend.storedAs ? { storedAs: ctx.backend.storedAs } : {}),
    ...(ctx.encryption ? { encryption: ctx.encryption.manifest } : {}), files: upload.entries,
  });
  const key = await writeManifest(ctx.backend, manifest, ctx.signal);
  await journal.remove();
  if (cassandra.hostId !== undefined) {
    // A cache only: failing to write it must not turn a complete backup into a reported failure.
    const hostId = cassandra.hostId;
    await cacheWrite(ctx, 'remember the Cassandra host id', () => ctx.hostIds.remember(hostId));
  }
  return { manifest, manifestKey: key, upload };
}

export function emitSummary(ctx: BackupContext, command: string, tag: string, startedAt: Date, result: BackupRunResult): void {
  const seconds = (ctx.now().getTime() - startedAt.getTime()) / 1000;
  const { totals } = result.manifest;
  ctx.reporter.emit({
    type: 'summary', command, tag, ok: true, files: totals.files, uploadedFiles: result.upload.uploadedFiles,
    copiedFiles: result.upload.copiedFiles, reusedFiles: totals.files - result.upload.uploadedFiles - result.upload.copiedFiles, bytes: totals.bytes, uploadedBytes: totals.uploadedBytes,
    seconds, mbPerSecond: seconds > 0 ? totals.uploadedBytes / 1e6 / seconds : 0, manifest: result.manifestKey, failures: [],
  });
}

