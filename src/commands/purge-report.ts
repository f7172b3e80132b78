// What purge prints: the plan (always) and, with --yes, what was deleted. Pure: data in, text out.
import { formatBytes } from '../output/human.ts';
import type { KeepReason } from '../catalog/retention.ts';
import type { IncompleteUpload, ObjectInfo } from '../storage/backend.ts';
import { describeLease, type JudgedLease } from '../catalog/leases.ts';
import type { CommitLogExpiry } from '../commitlog/retention.ts';

export interface PurgeBackup {
  readonly key: string;
  readonly tag: string;
  readonly kind: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly files: readonly { readonly key: string; readonly size: number }[];
  /** A damaged manifest whose objects cannot be known, and why. */
  readonly opaque?: string;
}

export interface PurgeReport {
  readonly nodeId: string;
  readonly destination: string;
  readonly keepLast: number | undefined;
  readonly keepDays: number | undefined;
  readonly graceHours: number;
  readonly kept: readonly { readonly entry: PurgeBackup; readonly reasons: readonly KeepReason[] }[];
  readonly expired: readonly PurgeBackup[];
  readonly expiredObjects: readonly ObjectInfo[];
  readonly absentKeys: number;
  readonly orphans: readonly ObjectInfo[];
  readonly recentOrphans: readonly ObjectInfo[];
  readonly heldOrphans: readonly ObjectInfo[];
  /** Other runs of this node announced in the bucket: live ones keep every data object, dead ones are removed. */
  readonly runs: readonly JudgedLease[];
  /** Uploads begun and never completed, older than the grace period: aborted. */
  readonly staleUploads: readonly IncompleteUpload[];
  /** Archived commit-log segments no kept snapshot's point-in-time window needs (deleted with the manifests). */
  readonly commitLogs?: CommitLogExpiry;
  /** Set once --yes has deleted. */
  readonly deleted?: PurgeDeleted;
}

export interface PurgeDeleted {
  readonly manifests: number;
  objects: number;
  objectBytes: number;
  orphans: number;
  orphanBytes: number;
  /** Planned objects that a backup finished meanwhile now references: not deleted. */
  spared: number;
  /** Incomplete uploads aborted. */
  uploads: number;
  /** Leases of dead runs removed. */
  deadLeases: number;
  /** A live backup that made purge stop before deleting data (described), if one did. */
  deferredBy: string | undefined;
  /** What kept purge from deleting any data object: a manifest whose objects cannot be known. */
  blockedBy: string | undefined;
}

export function bytesOf(objects: readonly { readonly size: number }[]): number {
  return objects.reduce((n, o) => n + o.size, 0);
}

export function purgeJson(r: PurgeReport): string {
  const group = (objects: readonly ObjectInfo[], withKeys: boolean) =>
    ({ count: objects.length, bytes: bytesOf(objects), ...(withKeys ? { keys: objects.map((o) => o.key) } : {}) });
  return `${JSON.stringify({
    command: 'purge', nodeId: r.nodeId, destination: r.destination, dryRun: r.deleted === undefined,
    policy: { keepLast: r.keepLast ?? null, keepDays: r.keepDays ?? null, graceHours: r.graceHours },
    kept: r.kept.map((k) => ({ ...backupJson(k.entry), reasons: k.reasons })),
    expired: r.expired.map(backupJson),
    objects: { ...group(r.expiredObjects, false), absent: r.absentKeys },
    orphans: group(r.orphans, true), recentOrphans: group(r.recentOrphans, true), heldOrphans: group(r.heldOrphans, true),
    runs: r.runs.map((j) => ({ ...j.lease, live: j.live, ageSeconds: Math.round(j.ageMs / 1000) })),
    staleUploads: { count: r.staleUploads.length, keys: r.staleUploads.map((u) => u.key) },
    ...(r.commitLogs ? { commitLogs: { segments: r.commitLogs.segmentKeys.length, manifests: r.commitLogs.manifestKeys.length,
      bytes: r.commitLogs.bytes, oldestKept: r.commitLogs.oldestKept ?? null } } : {}),
    ...(r.deleted ? { deleted: r.deleted } : {}),
  })}\n`;
}

function backupJson(b: PurgeBackup) {
  return { tag: b.tag, kind: b.kind, startedAt: b.startedAt, finishedAt: b.finishedAt, manifest: b.key,
    files: b.files.length, bytes: bytesOf(b.files) };
}

export function purgeText(r: PurgeReport): string {
  const lines = [`purge ${r.nodeId} (${r.destination}): ${policyText(r)}`];
  const snapshots = r.kept.filter((k) => k.entry.kind === 'snapshot');
  lines.push(`keep ${r.kept.length} backup(s): ${snapshots.length} snapshot(s), ${r.kept.length - snapshots.length} other`);
  for (const k of snapshots) lines.push(`  ${backupLine(k.entry)}  (${k.reasons.join(', ')})`);
  lines.push(r.expired.length === 0 ? 'expire no backup' : `expire ${r.expired.length} backup(s):`);
  for (const e of r.expired) lines.push(`  ${backupLine(e)}`);
  const verb = r.deleted ? 'delete' : 'would delete';
  lines.push(`${verb} ${r.expired.length} manifest(s) and ${r.expiredObjects.length} object(s) (${formatBytes(bytesOf(r.expiredObjects))}) no kept backup references`);
  lines.push(`${verb} ${r.orphans.length} orphaned object(s) (${formatBytes(bytesOf(r.orphans))}) older than ${r.graceHours} h, referenced by no backup`);
  if (r.recentOrphans.length > 0) {
    lines.push(`keep ${r.recentOrphans.length} unreferenced object(s) (${formatBytes(bytesOf(r.recentOrphans))}) younger than ${r.graceHours} h: a backup may be in progress`);
  }
  if (r.heldOrphans.length > 0) {
    lines.push(`keep ${r.heldOrphans.length} unreferenced object(s) (${formatBytes(bytesOf(r.heldOrphans))}) recorded by an unfinished run of this node: resume it, or remove its journal`);
  }
  if (r.commitLogs && r.commitLogs.segmentKeys.length > 0) {
    lines.push(`${verb} ${r.commitLogs.segmentKeys.length} commit-log segment(s) (${formatBytes(r.commitLogs.bytes)}) and ` +
      `${r.commitLogs.manifestKeys.length} commit-log manifest(s) older than every kept snapshot's point-in-time window`);
  }
  if (r.staleUploads.length > 0) lines.push(`${verb === 'delete' ? 'abort' : 'would abort'} ${r.staleUploads.length} incomplete upload(s) older than ${r.graceHours} h`);
  for (const j of r.runs) {
    lines.push(j.live ? `in progress: ${describeLease(j)}${j.lease.kind === 'backup' ? ' (no data object is deleted while it runs)' : ''}`
      : `dead run (its lease is removed): ${describeLease(j)}`);
  }
  lines.push(r.deleted ? deletedText(r.deleted) : 'Nothing was deleted. Run again with --yes (and without --dry-run) to delete.');
  return `${lines.join('\n')}\n`;
}

function policyText(r: PurgeReport): string {
  const rules = [
    ...(r.keepLast === undefined ? [] : [`the ${r.keepLast} newest snapshot(s)`]),
    ...(r.keepDays === undefined ? [] : [`backups younger than ${r.keepDays} day(s)`]),
  ];
  return `keep ${rules.join(' and ')}, the newest snapshot, and the incrementals a kept snapshot needs`;
}

function backupLine(b: PurgeBackup): string {
  return `${b.kind.padEnd(11)} ${b.startedAt}  ${b.tag}  ${b.files.length} files  ${formatBytes(bytesOf(b.files))}`;
}

function deletedText(d: PurgeDeleted): string {
  const spared = d.spared > 0 ? `; ${d.spared} object(s) spared: a backup finished meanwhile references them` : '';
  const uploads = d.uploads > 0 ? `; aborted ${d.uploads} incomplete upload(s)` : '';
  const leases = d.deadLeases > 0 ? `; removed ${d.deadLeases} dead run lease(s)` : '';
  const deferred = d.deferredBy ? `. Deferred deleting the remaining data objects: a backup is in progress (${d.deferredBy})` : '';
  const blocked = d.blockedBy ? `. Deleted no data object: ${d.blockedBy}` : '';
  return `deleted ${d.manifests} manifest(s), ${d.objects} object(s) (${formatBytes(d.objectBytes)}) and ` +
    `${d.orphans} orphaned object(s) (${formatBytes(d.orphanBytes)})${spared}${uploads}${leases}${deferred}${blocked}`;
}
