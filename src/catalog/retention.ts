// What `purge` may delete (DESIGN sections 5 and 6). Pure: manifests, the store listing and the clock arrive as
// arguments, so every rule is testable with fake manifests and a fixed time.
//
// Two steps. selectRetention decides which backups expire; planGarbage turns that into object keys, always
// subtracting every key a kept backup references, because objects are shared between manifests (incremental
// backups/ files, server-side copies, the dedup layout's one copy per SSTable).
import { UsageError } from '../errors.ts';
import type { ObjectInfo } from '../storage/backend.ts';
import { CATALOG_DIR } from './keys.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionPolicy {
  /** Keep the N newest snapshot backups. */
  readonly keepLast: number | undefined;
  /** Keep backups that finished less than D days ago. */
  readonly keepDays: number | undefined;
  /** Snapshots that are this node's part of a cluster backup that must stay whole (the newest complete ones). */
  readonly clusterTags?: ReadonlySet<string>;
}

/** What retention reads of a manifest; `key` is the manifest's own object key. */
export interface BackupEntry {
  readonly key: string;
  readonly tag: string;
  readonly kind: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly files: readonly { readonly key: string }[];
}

export type KeepReason =
  | 'newest-snapshot' // never expired: the last complete snapshot is what a restore starts from
  | 'keep-last'
  | 'keep-days'
  | 'after-kept-snapshot' // an incremental that restore --until needs on top of a kept snapshot
  | 'cluster-backup' // this node's part of a complete cluster backup that is kept
  | 'no-snapshot' // incrementals of a node without any snapshot: nothing to anchor their expiry to
  | 'unreadable-time' // a time or kind this version cannot judge: keeping is the safe side
  | 'unknown-kind';

export interface KeptEntry<T> {
  readonly entry: T;
  readonly reasons: readonly KeepReason[];
}

export interface Retention<T> {
  readonly kept: readonly KeptEntry<T>[];
  readonly expired: readonly T[];
}

export function assertPolicy(policy: RetentionPolicy): void {
  if (policy.keepLast === undefined && policy.keepDays === undefined) {
    throw new UsageError('purge needs a retention rule: --keep-last N and/or --keep-days D');
  }
  for (const [name, value] of [['keep-last', policy.keepLast], ['keep-days', policy.keepDays]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new UsageError(`--${name} must be a whole number, got ${String(value)}`);
    }
  }
}

/**
 * Which backups expire. A snapshot is kept when it is among the keepLast newest or finished within keepDays
 * (either rule keeps it), and the newest snapshot is always kept. An incremental is kept when it finished
 * within keepDays or after the oldest kept snapshot started.
 */
export function selectRetention<T extends BackupEntry>(entries: readonly T[], policy: RetentionPolicy, now: Date): Retention<T> {
  assertPolicy(policy);
  const young = youngTest(policy, now);
  const reasons = new Map<T, KeepReason[]>(entries.map((e) => [e, []]));
  const snapshots = entries.filter((e) => e.kind === 'snapshot' && timesReadable(e)).sort(newestFirst);
  snapshots.forEach((s, i) => reasons.get(s)?.push(...snapshotReasons(s, i, policy, young)));
  const keptSnapshotStarts = snapshots.filter((s) => (reasons.get(s) ?? []).length > 0).map((s) => Date.parse(s.startedAt));
  const anchor = keptSnapshotStarts.length > 0 ? Math.min(...keptSnapshotStarts) : undefined;
  for (const e of entries) {
    if (e.kind === 'snapshot' && timesReadable(e)) continue;
    reasons.get(e)?.push(...otherReasons(e, anchor, young));
  }
  const kept: KeptEntry<T>[] = [];
  const expired: T[] = [];
  for (const e of entries) {
    const why = reasons.get(e) ?? [];
    if (why.length > 0) kept.push({ entry: e, reasons: why });
    else expired.push(e);
  }
  return { kept, expired };
}

function youngTest(policy: RetentionPolicy, now: Date): (e: BackupEntry) => boolean {
  if (policy.keepDays === undefined) return () => false;
  const cutoff = now.getTime() - policy.keepDays * DAY_MS;
  // Age counts from the end of the run: a long backup is never judged older than it is.
  return (e) => Date.parse(e.finishedAt) > cutoff;
}

function timesReadable(e: BackupEntry): boolean {
  return Number.isFinite(Date.parse(e.startedAt)) && Number.isFinite(Date.parse(e.finishedAt));
}

function newestFirst(a: BackupEntry, b: BackupEntry): number {
  return Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.tag.localeCompare(a.tag);
}

function snapshotReasons(s: BackupEntry, rank: number, policy: RetentionPolicy, young: (e: BackupEntry) => boolean): KeepReason[] {
  const out: KeepReason[] = [];
  if (rank === 0) out.push('newest-snapshot');
  if (policy.keepLast !== undefined && rank < policy.keepLast) out.push('keep-last');
  if (young(s)) out.push('keep-days');
  if (policy.clusterTags?.has(s.tag)) out.push('cluster-backup');
  return out;
}

function otherReasons(e: BackupEntry, anchor: number | undefined, young: (e: BackupEntry) => boolean): KeepReason[] {
  if (e.kind !== 'incremental' && e.kind !== 'snapshot') return ['unknown-kind'];
  if (!timesReadable(e)) return ['unreadable-time'];
  const out: KeepReason[] = [];
  if (young(e)) out.push('keep-days');
  if (anchor === undefined) out.push('no-snapshot');
  else if (Date.parse(e.finishedAt) > anchor) out.push('after-kept-snapshot');
  return out;
}

export interface GarbageInput {
  readonly nodeId: string;
  readonly kept: readonly BackupEntry[];
  readonly expired: readonly BackupEntry[];
  /** Every object under `<nodeId>/`, as listed by the store. */
  readonly objects: readonly ObjectInfo[];
  /** Keys an unfinished run of this node recorded as stored (its journal): a resume will reference them. */
  readonly heldKeys: ReadonlySet<string>;
  readonly graceMs: number;
  readonly now: Date;
}

export interface GarbagePlan {
  /** Data objects that only expired backups reference. */
  readonly expiredObjects: readonly ObjectInfo[];
  /** Keys expired backups reference that the store no longer has (or that lie outside this node's data). */
  readonly absentKeys: number;
  /** Data objects no manifest references, older than the grace period: left by failed runs. */
  readonly orphans: readonly ObjectInfo[];
  /** Unreferenced, but within the grace period or of unknown age: a backup may still be writing them. */
  readonly recentOrphans: readonly ObjectInfo[];
  /** Unreferenced, but recorded by an unfinished run's journal. */
  readonly heldOrphans: readonly ObjectInfo[];
}

/** Which data objects go. Only objects under `<nodeId>/` outside the catalog are ever candidates. */
export function planGarbage(input: GarbageInput): GarbagePlan {
  const keptKeys = referencedKeys(input.kept);
  const expiredKeys = referencedKeys(input.expired);
  const expiredObjects: ObjectInfo[] = [];
  const orphans: ObjectInfo[] = [];
  const recentOrphans: ObjectInfo[] = [];
  const heldOrphans: ObjectInfo[] = [];
  let present = 0;
  for (const o of input.objects) {
    if (!isDataKey(input.nodeId, o.key) || keptKeys.has(o.key)) continue;
    if (expiredKeys.has(o.key)) {
      expiredObjects.push(o);
      present++;
    } else if (input.heldKeys.has(o.key)) heldOrphans.push(o);
    else if (pastGrace(o, input.graceMs, input.now)) orphans.push(o);
    else recentOrphans.push(o);
  }
  const onlyExpired = [...expiredKeys].filter((k) => !keptKeys.has(k)).length;
  return { expiredObjects, absentKeys: onlyExpired - present, orphans, recentOrphans, heldOrphans };
}

export function referencedKeys(entries: readonly BackupEntry[]): Set<string> {
  const out = new Set<string>();
  for (const e of entries) for (const f of e.files) out.add(f.key);
  return out;
}

/** A data object of this node: under `<nodeId>/`, and not in the catalog (manifests, markers). */
export function isDataKey(nodeId: string, key: string): boolean {
  return key.startsWith(`${nodeId}/`) && !key.startsWith(`${nodeId}/${CATALOG_DIR}/`);
}

function pastGrace(o: ObjectInfo, graceMs: number, now: Date): boolean {
  // An object of unknown age might be seconds old: only a known age can clear the grace period.
  if (o.lastModified === undefined || !Number.isFinite(o.lastModified.getTime())) return false;
  return now.getTime() - o.lastModified.getTime() >= graceMs;
}

/** Only manifests of expired backups may go; a kept one reaching this point is a bug. */
export function assertManifestsDeletable(keys: readonly string[], kept: readonly BackupEntry[]): void {
  const keptKeys = new Set(kept.map((e) => e.key));
  for (const key of keys) if (keptKeys.has(key)) throw new Error(`refusing to delete manifest ${key}: its backup is kept (purge bug)`);
}

/**
 * Defence in depth, run right before each delete: a key that a kept backup references, or that is not a data
 * key of this node, reaching this point is a bug, and deleting it would break a backup someone relies on.
 */
export function assertDeletable(nodeId: string, keys: readonly string[], protectedKeys: ReadonlySet<string>): void {
  for (const key of keys) {
    if (protectedKeys.has(key)) throw new Error(`refusing to delete ${key}: a kept backup references it (purge bug)`);
    if (!isDataKey(nodeId, key)) throw new Error(`refusing to delete ${key}: not a data object of node ${nodeId} (purge bug)`);
  }
}
