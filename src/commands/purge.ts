/**
 * `cass-backup-run purge`: expire old backups of this node and delete what nothing kept needs.
 *
 * Retention (at least one rule; with one rule, that rule alone decides):
 * - a snapshot backup is kept if it is among the `--keep-last N` newest snapshots OR finished less than
 *   `--keep-days D` days ago; the newest complete snapshot is never expired, whatever the rules say;
 * - an incremental backup is kept if it finished less than D days ago OR after the oldest kept snapshot
 *   started (restore --until needs those); on a node with no snapshot at all, incrementals are kept;
 * - a manifest this version cannot judge (unknown kind, unreadable times, damaged) is kept.
 * Objects deleted = the objects of expired backups minus every object a kept backup references (objects are
 * shared: incremental backups/ files, the dedup layout). Manifests are deleted first, then their objects, so
 * an interrupted purge never leaves a manifest pointing at deleted objects; what it leaves behind is orphans.
 * Orphans = objects under `<node-id>/` (outside the `.cass-backup-run/` catalog) that no manifest references,
 * left by failed runs; deleted only when older than `--grace-hours` (default 24).
 * Runs on every host announce themselves in the bucket (run-lease.ts). A deleting purge announces itself too,
 * and while any backup of the node is live it deletes no data object, no orphan and no incomplete upload: it
 * expires manifests, says what it deferred, and exits 75 so that cron tries again. Incomplete multipart uploads
 * older than the grace period are aborted; leases of runs that died are removed.
 * Without `--yes` (or with `--dry-run`) purge only prints what it would delete and exits 0. `--json`: one JSON
 * document on stdout.
 */
import type { CatalogContext } from './catalog-context.ts';
import { IncompleteError, LockedError, UsageError } from '../errors.ts';
import { listManifestRefs } from '../catalog/catalog.ts';
import { summaryKey } from '../catalog/keys.ts';
import { assertDeletable, assertManifestsDeletable, assertPolicy, referencedKeys } from '../catalog/retention.ts';
import { describeLease, type JudgedLease } from '../catalog/leases.ts';
import { announcePurge, type RunLease } from '../catalog/run-lease.ts';
import type { IncompleteUpload, ObjectInfo } from '../storage/backend.ts';
import { purgeJson, purgeText, type PurgeDeleted } from './purge-report.ts';
import { otherRuns, planPurge, readBackups, type PurgeInput, type PurgePlan } from './purge-plan.ts';

export type { PurgeInput } from './purge-plan.ts';

/** Keys per delete call: S3 DeleteObjects' limit, and a point between calls where an interrupt stops. */
const DELETE_CHUNK = 1000;
/**
 * Delete calls in flight at once. Each is one S3 DeleteObjects of 1,000 keys (Azure: four Blob Batch requests of
 * ≤ 256; GCS and file://: the adapter's own bounded concurrency), so this bounds the load on the store too.
 */
const DELETE_CONCURRENCY = 4;

export async function purgeCommand(input: PurgeInput, ctx: CatalogContext): Promise<void> {
  assertPolicy(input);
  if (!Number.isFinite(input.graceHours) || input.graceHours < 0) {
    throw new UsageError(`--grace-hours must be a number of hours ≥ 0, got ${String(input.graceHours)}`);
  }
  const deleting = input.yes && !ctx.dryRun;
  // Deleting takes the node's lock, so no backup on this host can start reusing objects meanwhile, and announces
  // itself in the bucket, so that backups on other hosts wait for it.
  const lock = deleting ? await ctx.lock?.('purge') : undefined;
  try {
    const lease = deleting ? await announce(ctx) : undefined;
    try {
      const plan = await planPurge(input, ctx, lease);
      const report = deleting ? { ...plan.report, deleted: await executePurge(plan, ctx, lease) } : plan.report;
      ctx.out(ctx.json ? purgeJson(report) : purgeText(report));
      if (report.deleted?.blockedBy) {
        throw new IncompleteError(`purge of node ${ctx.nodeId} deleted no data object: ${report.deleted.blockedBy}; repair or remove it`);
      }
      if (report.deleted?.deferredBy) {
        throw new LockedError(`purge of node ${ctx.nodeId} deferred deleting data while a backup is in progress ` +
          `(${report.deleted.deferredBy}); run it again later`);
      }
    } finally {
      await lease?.release();
    }
  } finally {
    await lock?.release();
  }
}

async function announce(ctx: CatalogContext): Promise<RunLease> {
  const { lease } = await announcePurge(
    { nodeId: ctx.nodeId, kind: 'purge', command: 'purge', hostname: ctx.hostname, pid: ctx.pid, stateDir: ctx.stateDir, bootId: ctx.bootId,
      toolVersion: ctx.toolVersion },
    { timeoutMs: ctx.leaseTimeoutMs },
    { backend: ctx.backend, now: ctx.now, signal: ctx.signal, warn: (message) => ctx.reporter.emit({ type: 'warning', message }) },
  );
  return lease;
}

async function executePurge(plan: PurgePlan, ctx: CatalogContext, lease: RunLease | undefined): Promise<PurgeDeleted> {
  const r = plan.report;
  const manifestKeys = r.expired.map((e) => e.key);
  assertManifestsDeletable(manifestKeys, r.kept.map((k) => k.entry));
  // Expiring manifests is safe while a backup runs: it confirms every object it reuses before its own manifest.
  if (manifestKeys.length > 0) {
    await ctx.backend.delete(manifestKeys, { signal: ctx.signal });
    // Their summary records after them: a record without its manifest is ignored by list.
    await ctx.backend.delete(r.expired.map((e) => summaryKey(ctx.nodeId, e.tag)), { signal: ctx.signal });
  }
  progress(ctx, `deleted ${manifestKeys.length} manifest(s)`);
  await deleteCommitLogs(r, ctx);
  const deleted: PurgeDeleted = { manifests: manifestKeys.length, objects: 0, objectBytes: 0, orphans: 0, orphanBytes: 0,
    spared: 0, uploads: 0, deadLeases: 0, deferredBy: undefined, blockedBy: undefined };
  const gate = async (): Promise<string | undefined> => {
    const backup = (await otherRuns(ctx, lease)).find((j) => j.live && j.lease.kind === 'backup');
    return backup && describeLease(backup);
  };
  const opaque = r.kept.find((k) => k.entry.opaque !== undefined)?.entry;
  if (opaque !== undefined) {
    deleted.blockedBy = `manifest ${opaque.key} cannot be read (${opaque.opaque}), so the objects it references are unknown`;
    deleted.deadLeases = await removeDeadLeases(r.runs, ctx);
    return deleted;
  }
  // The gate is asked before every delete request: a backup that started meanwhile stops the deleting (and only
  // a purge with something left to delete is deferred).
  const late = await lateReferences(plan.knownManifests, ctx);
  const protectedKeys = new Set([...referencedKeys(r.kept.map((k) => k.entry)), ...late]);
  const spare = (objects: readonly ObjectInfo[]) => objects.filter((o) => !late.has(o.key));
  const objects = spare(r.expiredObjects);
  const orphans = spare(r.orphans);
  deleted.spared = r.expiredObjects.length + r.orphans.length - objects.length - orphans.length;
  let deferredBy = await deleteObjects(objects, protectedKeys, ctx, gate, (o) => { deleted.objects++; deleted.objectBytes += o.size; });
  deferredBy ??= await deleteObjects(orphans, protectedKeys, ctx, gate, (o) => { deleted.orphans++; deleted.orphanBytes += o.size; });
  deferredBy ??= await abortUploads(r.staleUploads, ctx, gate, () => { deleted.uploads++; });
  deleted.deferredBy = deferredBy;
  deleted.deadLeases = await removeDeadLeases(r.runs, ctx);
  return deleted;
}

/** Expired commit-log manifests first, then their segments: a manifest never names a deleted segment. */
async function deleteCommitLogs(r: PurgePlan['report'], ctx: CatalogContext): Promise<void> {
  const c = r.commitLogs;
  if (c === undefined || c.segmentKeys.length === 0) return;
  if (c.manifestKeys.length > 0) await ctx.backend.delete(c.manifestKeys, { signal: ctx.signal });
  for (let i = 0; i < c.segmentKeys.length; i += DELETE_CHUNK) await ctx.backend.delete(c.segmentKeys.slice(i, i + DELETE_CHUNK), { signal: ctx.signal });
  progress(ctx, `deleted ${c.segmentKeys.length} commit-log segment(s) and ${c.manifestKeys.length} commit-log manifest(s)`);
}

/** Keys referenced by manifests written since planning: a backup that finished meanwhile may reuse old objects. */
async function lateReferences(known: ReadonlySet<string>, ctx: CatalogContext): Promise<Set<string>> {
  const fresh = (await listManifestRefs(ctx.backend, ctx.nodeId, ctx.signal)).filter((ref) => !known.has(ref.key));
  return new Set((await readBackups(fresh, ctx)).flatMap((b) => b.files.map((f) => f.key)));
}

/**
 * Deletes in chunks of DELETE_CHUNK keys, DELETE_CONCURRENCY chunks at a time. Before each wave of chunks `gate`
 * looks for a live backup of this node, and when one has started, stops and returns its description (the rest
 * waits for a later purge): at most one wave is in flight when a backup appears, as a wave of one chunk was.
 */
async function deleteObjects(
  objects: readonly ObjectInfo[], protectedKeys: ReadonlySet<string>, ctx: CatalogContext,
  gate: () => Promise<string | undefined>, onDeleted: (o: ObjectInfo) => void,
): Promise<string | undefined> {
  let done = 0;
  const wave = DELETE_CHUNK * DELETE_CONCURRENCY;
  for (let w = 0; w < objects.length; w += wave) {
    ctx.signal.throwIfAborted();
    const blocker = await gate();
    if (blocker !== undefined) return blocker;
    const chunks: ObjectInfo[][] = [];
    for (let i = w; i < Math.min(w + wave, objects.length); i += DELETE_CHUNK) chunks.push(objects.slice(i, Math.min(i + DELETE_CHUNK, w + wave)));
    for (const chunk of chunks) assertDeletable(ctx.nodeId, chunk.map((o) => o.key), protectedKeys);
    // Every call of the wave is awaited, failed or not, so that none is still deleting when purge reports.
    const settled = await Promise.allSettled(chunks.map(async (chunk) => {
      await ctx.backend.delete(chunk.map((o) => o.key), { signal: ctx.signal });
      chunk.forEach(onDeleted);
      done += chunk.length;
    }));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    progress(ctx, `deleted ${done} of ${objects.length} object(s)`);
  }
  return undefined;
}

async function abortUploads(
  uploads: readonly IncompleteUpload[], ctx: CatalogContext, gate: () => Promise<string | undefined>, onAborted: () => void,
): Promise<string | undefined> {
  const abort = ctx.backend.abortIncompleteUpload?.bind(ctx.backend);
  if (abort === undefined || uploads.length === 0) return undefined;
  const blocker = await gate();
  if (blocker !== undefined) return blocker;
  for (const u of uploads) {
    await abort(u, { signal: ctx.signal });
    onAborted();
  }
  progress(ctx, `aborted ${uploads.length} incomplete upload(s)`);
  return undefined;
}

/** Leases whose runs died (crash, kill -9, a host gone): their objects are judged like any other's. */
async function removeDeadLeases(runs: readonly JudgedLease[], ctx: CatalogContext): Promise<number> {
  const dead = runs.filter((j) => !j.live).map((j) => j.key);
  if (dead.length > 0) await ctx.backend.delete(dead, { signal: ctx.signal });
  return dead.length;
}

/** Progress goes to the reporter, except with --json, where stdout carries the one result document. */
function progress(ctx: CatalogContext, message: string): void {
  if (!ctx.json) ctx.reporter.emit({ type: 'info', message });
}
