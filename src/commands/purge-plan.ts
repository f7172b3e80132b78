// Planning a purge: what the store and the leases say, and what would go (purge.ts deletes it). Reads only.
import { manifestCacheDir } from '../state-dir.ts';
import { readNodeJournals } from '../upload/journal.ts';
import type { CatalogContext } from './catalog-context.ts';
import { listManifestRefs, readCatalogEntry, type ManifestRef } from '../catalog/catalog.ts';
import { describeDamaged } from '../catalog/damaged.ts';
import { isDataKey, planGarbage, selectRetention } from '../catalog/retention.ts';
import type { JudgedLease } from '../catalog/leases.ts';
import { readLeases, type RunLease } from '../catalog/run-lease.ts';
import type { IncompleteUpload, ObjectInfo } from '../storage/backend.ts';
import { forEachLimit } from '../upload/pool.ts';
import { listClusterBackups } from '../cluster/cluster-catalog.ts';
import { manifestCache } from '../catalog/select.ts';
import type { PurgeBackup, PurgeReport } from './purge-report.ts';
import { readCommitLogCatalog } from '../commitlog/catalog.ts';
import { planCommitLogExpiry } from '../commitlog/retention.ts';

export interface PurgeInput {
  readonly keepLast: number | undefined;
  readonly keepDays: number | undefined;
  /** Delete; without it purge only shows what it would delete. */
  readonly yes: boolean;
  /** Objects younger than this that no manifest references may belong to a backup still in progress. */
  readonly graceHours: number;
  /** Keep this node's parts of the N newest complete cluster backups (at least the newest one is always kept). */
  readonly keepClusters?: number | undefined;
}

const HOUR_MS = 60 * 60 * 1000;

export interface PurgePlan {
  readonly report: PurgeReport;
  /** Manifest keys read while planning: a manifest missing from it at delete time is a backup finished since. */
  readonly knownManifests: ReadonlySet<string>;
}

export async function planPurge(input: PurgeInput, ctx: CatalogContext, lease: RunLease | undefined): Promise<PurgePlan> {
  // Manifests before objects: an object stored after the manifest listing is young, so the grace period covers it.
  const refs = await listManifestRefs(ctx.backend, ctx.nodeId, ctx.signal);
  const backups = await readBackups(refs, ctx);
  const objects = await listAll(ctx, `${ctx.nodeId}/`);
  const now = ctx.now();
  const graceMs = input.graceHours * HOUR_MS;
  const retention = selectRetention(backups, { ...input, clusterTags: await clusterTagsToKeep(ctx, input.keepClusters ?? 1) }, now);
  const garbage = planGarbage({
    nodeId: ctx.nodeId, kept: retention.kept.map((k) => k.entry), expired: retention.expired, objects,
    heldKeys: await unfinishedRunKeys(ctx.stateDir, ctx.nodeId), graceMs, now,
  });
  const runs = await otherRuns(ctx, lease);
  const report: PurgeReport = {
    nodeId: ctx.nodeId, destination: ctx.backend.description, keepLast: input.keepLast, keepDays: input.keepDays,
    graceHours: input.graceHours, kept: retention.kept, expired: retention.expired, ...garbage,
    runs, staleUploads: await staleUploads(ctx, now, graceMs),
    commitLogs: planCommitLogExpiry(await readCommitLogCatalog(ctx.backend, ctx.nodeId, ctx.signal), oldestKeptSnapshot(retention.kept.map((k) => k.entry))),
  };
  return { report, knownManifests: new Set(refs.map((r) => r.key)) };
}

/** When the oldest kept snapshot started: the point-in-time windows of kept snapshots begin there. */
function oldestKeptSnapshot(kept: readonly PurgeBackup[]): number | undefined {
  const starts = kept.filter((b) => b.kind === 'snapshot').map((b) => Date.parse(b.startedAt)).filter(Number.isFinite);
  return starts.length === 0 ? undefined : Math.min(...starts);
}

/** Leases of this node's other runs, judged now (a dry run, which announces nothing, reads them too). */
export async function otherRuns(ctx: CatalogContext, lease: RunLease | undefined): Promise<JudgedLease[]> {
  if (lease) return lease.others();
  return readLeases(ctx.backend, ctx.nodeId, ctx.now(), { timeoutMs: ctx.leaseTimeoutMs }, ctx.signal);
}

/** Uploads of this node begun and never completed (a killed run), older than the grace period. */
async function staleUploads(ctx: CatalogContext, now: Date, graceMs: number): Promise<IncompleteUpload[]> {
  if (!ctx.backend.listIncompleteUploads) return [];
  const out: IncompleteUpload[] = [];
  for await (const u of ctx.backend.listIncompleteUploads(`${ctx.nodeId}/`, { signal: ctx.signal })) {
    // An upload of unknown age might be seconds old: only a known age can clear the grace period.
    if (u.initiated !== undefined && now.getTime() - u.initiated.getTime() >= graceMs && isDataKey(ctx.nodeId, u.key)) out.push(u);
  }
  return out;
}

/**
 * Every manifest's objects must be known: an unknown one would leave them looking unreferenced, and purge would
 * delete a backup's data. A manifest the store cannot give stops the purge. A damaged one is kept (its kind is
 * one purge cannot judge) with the objects it names; when even those cannot be read, it is `opaque`, and no
 * data object is deleted (see executePurge).
 */
export async function readBackups(refs: readonly ManifestRef[], ctx: CatalogContext): Promise<PurgeBackup[]> {
  const out: PurgeBackup[] = new Array<PurgeBackup>(refs.length);
  const indexed = refs.map((ref, i) => ({ ref, i }));
  await forEachLimit(indexed, ctx.concurrency, ctx.signal, async ({ ref, i }) => {
    out[i] = await readBackup(ref, ctx);
  });
  ctx.signal.throwIfAborted();
  return out;
}

async function readBackup(ref: ManifestRef, ctx: CatalogContext): Promise<PurgeBackup> {
  let entry;
  try {
    entry = await readCatalogEntry(ctx.backend, ref, manifestCacheDir(ctx.stateDir));
  } catch (err) {
    throw new Error(`cannot read manifest ${ref.key}; purge deletes nothing while a backup's objects are unknown`, { cause: err });
  }
  if ('manifest' in entry) {
    const m = entry.manifest;
    return { key: ref.key, tag: ref.tag, kind: m.kind, startedAt: m.startedAt, finishedAt: m.finishedAt, files: m.files };
  }
  const d = entry.damaged;
  ctx.reporter.emit({ type: 'warning', message: `${describeDamaged(d)}: it is kept, and so is every object it names` });
  return {
    key: ref.key, tag: ref.tag, kind: DAMAGED, startedAt: d.startedAt ?? '', finishedAt: d.finishedAt ?? '',
    files: (d.files ?? []).map((f) => ({ key: f.key, size: f.size ?? 0 })), ...(d.files === undefined ? { opaque: d.error } : {}),
  };
}

/** Not a kind retention knows: a damaged backup is always kept. */
const DAMAGED = 'damaged';

async function listAll(ctx: CatalogContext, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of ctx.backend.list(prefix, { signal: ctx.signal })) out.push(o);
  return out;
}

/**
 * Keys recorded by journals of this node's unfinished runs on this host (state-dir/journal/<node>/*.jsonl): a
 * resume would reuse them. Only a saving (a resume confirms what it reuses and sends again what is gone).
 */
export async function unfinishedRunKeys(stateDir: string, nodeId: string): Promise<Set<string>> {
  const journals = await readNodeJournals(stateDir, nodeId);
  return new Set(journals.flatMap((j) => j.records.map((r) => r.key)));
}

/**
 * The tags of this node's parts of the newest complete cluster backups: a cluster restore needs every member's
 * part, so one node's purge must never break the newest complete one (ids sort by their slot's time).
 */
async function clusterTagsToKeep(ctx: CatalogContext, count: number): Promise<Set<string>> {
  if (count <= 0) return new Set();
  const states = await listClusterBackups({ backend: ctx.backend, signal: ctx.signal, concurrency: ctx.concurrency,
    cacheDir: await manifestCache(ctx.stateDir) });
  const mine = states.filter((s) => s.summary?.members.some((m) => m.nodeId === ctx.nodeId));
  const byCluster = new Map<string, string[]>();
  for (const s of mine) byCluster.set(s.cluster, [...(byCluster.get(s.cluster) ?? []), s.id]);
  return new Set([...byCluster.values()].flatMap((ids) => ids.sort().slice(-count)));
}
