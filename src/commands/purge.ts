/**
 * `cass-backup-run purge`: expire old backups of this node and delete what nothing kept needs.
 *
 * Retention (at least one rule; with one rule, that rule alone decides):
 * - a snapshot backup is kept if it is among the `--keep-last N` newest snapshots OR finished less than
 *   `--keep-days D` days ago; the newest complete snapshot is never expired, whatever the rules say;
 * - an incremental backup is kept if it finished less than D days ago OR after the oldest kept snapshot
 *   started (restore --until needs those); on a node with no snapshot at all, incrementals are kept;
 * - a manifest this version cannot judge (unknown kind, unreadable times) is kept.
 * Objects deleted = the objects of expired backups minus every object a kept backup references (objects are
 * shared: incremental backups/ files, the dedup layout). Manifests are deleted first, then their objects, so
 * an interrupted purge never leaves a manifest pointing at deleted objects; what it leaves behind is orphans.
 * Orphans = objects under `<node-id>/` (outside the `.cass-backup-run/` catalog) that no manifest references,
 * left by failed runs. They are deleted only when older than `--grace-hours` (default 24): a backup in
 * progress has not written its manifest yet. Objects recorded by this node's unfinished-run journal (a
 * `snapshot --resume` would reuse them) are never deleted.
 * Without `--yes` purge only prints what it would delete and exits 0. `--json`: one JSON document on stdout.
 */
import { manifestCacheDir } from '../state-dir.ts';
import { readNodeJournals } from '../upload/journal.ts';
import type { CatalogContext } from './catalog-context.ts';
import { UsageError } from '../errors.ts';
import { listManifestRefs, readManifest, type ManifestRef } from '../catalog/catalog.ts';
import {
  assertDeletable, assertManifestsDeletable, assertPolicy, planGarbage, referencedKeys, selectRetention,
} from '../catalog/retention.ts';
import type { ObjectInfo } from '../storage/backend.ts';
import { forEachLimit } from '../upload/pool.ts';
import { bytesOf, purgeJson, purgeText, type PurgeBackup, type PurgeDeleted, type PurgeReport } from './purge-report.ts';

export interface PurgeInput {
  readonly keepLast: number | undefined;
  readonly keepDays: number | undefined;
  /** Delete; without it purge only shows what it would delete. */
  readonly yes: boolean;
  /** Objects younger than this that no manifest references may belong to a backup still in progress. */
  readonly graceHours: number;
}

/** Keys per delete call: S3 DeleteObjects' limit, and a point between calls where an interrupt stops. */
const DELETE_CHUNK = 1000;
const HOUR_MS = 60 * 60 * 1000;

export async function purgeCommand(input: PurgeInput, ctx: CatalogContext): Promise<void> {
  assertPolicy(input);
  if (!Number.isFinite(input.graceHours) || input.graceHours < 0) {
    throw new UsageError(`--grace-hours must be a number of hours ≥ 0, got ${String(input.graceHours)}`);
  }
  // Deleting takes the node's lock, so no backup on this node can start reusing objects meanwhile.
  const lock = input.yes ? await ctx.lock?.('purge') : undefined;
  try {
    const plan = await planPurge(input, ctx);
    const report = input.yes ? { ...plan.report, deleted: await executePurge(plan, ctx) } : plan.report;
    ctx.out(ctx.json ? purgeJson(report) : purgeText(report));
  } finally {
    await lock?.release();
  }
}

interface PurgePlan {
  readonly report: PurgeReport;
  /** Manifest keys read while planning: a manifest missing from it at delete time is a backup finished since. */
  readonly knownManifests: ReadonlySet<string>;
}

async function planPurge(input: PurgeInput, ctx: CatalogContext): Promise<PurgePlan> {
  // Manifests before objects: an object stored after the manifest listing is young, so the grace period covers it.
  const refs = await listManifestRefs(ctx.backend, ctx.nodeId, ctx.signal);
  const backups = await readBackups(refs, ctx);
  const objects = await listAll(ctx, `${ctx.nodeId}/`);
  const now = ctx.now();
  const retention = selectRetention(backups, input, now);
  const garbage = planGarbage({
    nodeId: ctx.nodeId, kept: retention.kept.map((k) => k.entry), expired: retention.expired, objects,
    heldKeys: await unfinishedRunKeys(ctx.stateDir, ctx.nodeId), graceMs: input.graceHours * HOUR_MS, now,
  });
  const report: PurgeReport = {
    nodeId: ctx.nodeId, destination: ctx.backend.description, keepLast: input.keepLast, keepDays: input.keepDays,
    graceHours: input.graceHours, kept: retention.kept, expired: retention.expired, ...garbage,
  };
  return { report, knownManifests: new Set(refs.map((r) => r.key)) };
}

/**
 * Every manifest must be readable: one that is not would leave its objects looking unreferenced, and purge
 * would delete a backup's data. So an unreadable manifest stops the purge instead of being skipped.
 */
async function readBackups(refs: readonly ManifestRef[], ctx: CatalogContext): Promise<PurgeBackup[]> {
  const out: PurgeBackup[] = new Array<PurgeBackup>(refs.length);
  const indexed = refs.map((ref, i) => ({ ref, i }));
  await forEachLimit(indexed, ctx.concurrency, ctx.signal, async ({ ref, i }) => {
    out[i] = await readBackup(ref, ctx);
  });
  ctx.signal.throwIfAborted();
  return out;
}

async function readBackup(ref: ManifestRef, ctx: CatalogContext): Promise<PurgeBackup> {
  try {
    const m = await readManifest(ctx.backend, ref, manifestCacheDir(ctx.stateDir));
    return { key: ref.key, tag: ref.tag, kind: m.kind, startedAt: m.startedAt, finishedAt: m.finishedAt, files: m.files };
  } catch (err) {
    throw new Error(`cannot read manifest ${ref.key}; purge deletes nothing while a backup's objects are unknown`, { cause: err });
  }
}

async function listAll(ctx: CatalogContext, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of ctx.backend.list(prefix, { signal: ctx.signal })) out.push(o);
  return out;
}

/**
 * Keys recorded by journals of this node's unfinished runs (state-dir/journal/<node>/*.jsonl). A resumed run
 * reuses them without checking the store, so deleting them would let a later manifest point at nothing.
 */
export async function unfinishedRunKeys(stateDir: string, nodeId: string): Promise<Set<string>> {
  const journals = await readNodeJournals(stateDir, nodeId);
  return new Set(journals.flatMap((j) => j.records.map((r) => r.key)));
}

async function executePurge(plan: PurgePlan, ctx: CatalogContext): Promise<PurgeDeleted> {
  const r = plan.report;
  const late = await lateReferences(plan.knownManifests, ctx);
  const protectedKeys = new Set([...referencedKeys(r.kept.map((k) => k.entry)), ...late]);
  const manifestKeys = r.expired.map((e) => e.key);
  assertManifestsDeletable(manifestKeys, r.kept.map((k) => k.entry));
  if (manifestKeys.length > 0) await ctx.backend.delete(manifestKeys, { signal: ctx.signal });
  progress(ctx, `deleted ${manifestKeys.length} manifest(s)`);
  const spare = (objects: readonly ObjectInfo[]) => objects.filter((o) => !late.has(o.key));
  const objects = spare(r.expiredObjects);
  const orphans = spare(r.orphans);
  await deleteObjects(objects, protectedKeys, ctx);
  await deleteObjects(orphans, protectedKeys, ctx);
  return {
    manifests: manifestKeys.length, objects: objects.length, objectBytes: bytesOf(objects),
    orphans: orphans.length, orphanBytes: bytesOf(orphans),
    spared: r.expiredObjects.length + r.orphans.length - objects.length - orphans.length,
  };
}

/** Keys referenced by manifests written since planning: a backup that finished meanwhile may reuse old objects. */
async function lateReferences(known: ReadonlySet<string>, ctx: CatalogContext): Promise<Set<string>> {
  const fresh = (await listManifestRefs(ctx.backend, ctx.nodeId, ctx.signal)).filter((ref) => !known.has(ref.key));
  return new Set((await readBackups(fresh, ctx)).flatMap((b) => b.files.map((f) => f.key)));
}

async function deleteObjects(objects: readonly ObjectInfo[], protectedKeys: ReadonlySet<string>, ctx: CatalogContext): Promise<void> {
  for (let i = 0; i < objects.length; i += DELETE_CHUNK) {
    ctx.signal.throwIfAborted();
    const keys = objects.slice(i, i + DELETE_CHUNK).map((o) => o.key);
    assertDeletable(ctx.nodeId, keys, protectedKeys);
    await ctx.backend.delete(keys, { signal: ctx.signal });
    progress(ctx, `deleted ${Math.min(i + DELETE_CHUNK, objects.length)} of ${objects.length} object(s)`);
  }
}

/** Progress goes to the reporter, except with --json, where stdout carries the one result document. */
function progress(ctx: CatalogContext, message: string): void {
  if (!ctx.json) ctx.reporter.emit({ type: 'info', message });
}
