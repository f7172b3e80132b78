// `snapshot [nodetool snapshot args…]`: take the snapshot, upload it, write the manifest, clear the snapshot.
// On failure the snapshot is kept and the error says how to resume (`snapshot --resume TAG`) without a new one
// (snapshot-outcome.ts: unless the snapshot changed or was removed meanwhile).
import { IncompleteError, UsageError } from '../errors.ts';
import {
  assertDataDirsHaveTables, assertSameCassandraHost, assertTagIsNew, emitSummary, loadCatalog, runBackup, withBackupLease, type BackupRunResult,
} from './backup-run.ts';
import type { RunLease } from '../catalog/run-lease.ts';
import type { BackupContext } from './context.ts';
import { journalPath } from '../state-dir.ts';
import { tagFromSnapshotArgs } from './snapshot-args.ts';
import { resolve } from 'node:path';
import type { SnapshotRecord } from '../snapshot-registry.ts';
import { shellQuote } from '../config/resume-command.ts';
import { setTimeout as delay } from 'node:timers/promises';
import type { SlotKind } from '../cluster/slot.ts';
import { parseTimeOption } from '../config/time.ts';
import { alreadyBackedUp, joinSlot, markNodeComplete, reportCompletion, slotFor, waitForOthers } from './cluster-snapshot.ts';
import { clearUploaded, describeChange, recordOf, uploadFailure } from './snapshot-outcome.ts';
import { cacheWrite } from './state-cache.ts';

export interface SnapshotInput {
  readonly nodetoolArgs: readonly string[];
  /** Upload an existing snapshot made by an earlier run instead of taking one. */
  readonly resumeTag: string | undefined;
  readonly keepSnapshot: boolean;
  /** Take this node's part of the cluster backup of the current schedule slot (the tag is the slot's id). */
  readonly tagSlot?: SlotKind | undefined;
  /** With tagSlot: wait up to this long for the other nodes to join before taking the snapshot. */
  readonly clusterWaitMs?: number | undefined;
  /** With tagSlot: the slot of this time (ISO 8601 or `now`) instead of the current one. */
  readonly slotTime?: string | undefined;
}

export async function snapshotCommand(input: SnapshotInput, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const lock = await ctx.lock('snapshot');
  try {
    return await snapshotLocked(input, ctx);
  } finally {
    await lock.release();
  }
}

async function snapshotLocked(input: SnapshotInput, ctx: BackupContext): Promise<BackupRunResult | undefined> {
  const startedAt = ctx.now();
  const requestedTag = input.resumeTag ?? tagFromSnapshotArgs(input.nodetoolArgs);
  if (input.tagSlot !== undefined && requestedTag !== undefined) {
    throw new UsageError('--tag-slot names the snapshot after the schedule slot: it cannot go with -t or --resume');
  }
  if ((input.clusterWaitMs !== undefined || input.slotTime !== undefined) && input.tagSlot === undefined) {
    throw new UsageError('--cluster-wait and --slot-time need --tag-slot');
  }
  const slotAt = input.slotTime === undefined ? undefined : new Date(parseTimeOption('slot-time', input.slotTime, ctx.now()));
  if (requestedTag !== undefined) await assertTagIsNew(ctx, requestedTag);
  await assertDataDirsHaveTables(ctx);
  if (ctx.dryRun) return dryRun(input, ctx);
  return withBackupLease(ctx, 'snapshot', (lease) => snapshotAnnounced(input, startedAt, slotAt, lease, ctx));
}

async function snapshotAnnounced(input: SnapshotInput, startedAt: Date, slotAt: Date | undefined, lease: RunLease, ctx: BackupContext):
  Promise<BackupRunResult | undefined> {
  // nodetool info starts a JVM: it runs while the catalog loads, and the Cassandra host id it gives is checked
  // against the node id's backups before a snapshot is taken or anything is stored.
  const cassandra = ctx.nodetool.info();
  cassandra.catch(() => undefined); // awaited just below; this only keeps an early failure from being "unhandled"
  const catalog = await loadCatalog(ctx);
  const facts = await cassandra;
  if (facts.hostId !== undefined) {
    assertSameCassandraHost(ctx, catalog, facts.hostId);
    await lease.setCassandraHostId(facts.hostId);
  }
  const slot = input.tagSlot === undefined ? undefined : slotFor(input.tagSlot, facts, ctx, slotAt ?? ctx.now());
  const ring = slot === undefined ? undefined : await ctx.nodetool.ring();
  if (slot !== undefined && ring !== undefined) {
    if (await alreadyBackedUp(ctx, slot)) {
      ctx.reporter.emit({ type: 'info', message: `this node's part of cluster backup ${slot.id} is complete already; nothing to do` });
      await reportCompletion(ctx, slot, ring);
      return undefined;
    }
    await joinSlot(ctx, slot, facts, ring);
    if (input.clusterWaitMs !== undefined) await waitForOthers(ctx, slot, ring, input.clusterWaitMs, (ms) => delay(ms, undefined, { signal: ctx.signal }));
  }
  await clearStaleSnapshots(ctx, input.resumeTag);
  const recorded = input.resumeTag !== undefined ? await resumable(input.resumeTag, ctx) : undefined;
  const snapshotAt = recorded === undefined ? ctx.now() : undefined;
  const nodetoolArgs = slot === undefined ? input.nodetoolArgs : ['-t', slot.id, ...input.nodetoolArgs];
  const taken = recorded !== undefined ? { tag: recorded.tag, args: ['snapshot', '-t', recorded.tag] } : await takeSnapshot({ ...input, nodetoolArgs }, ctx);
  const tag = taken.tag;
  const enumerated = await ctx.enumerate.snapshot(ctx.dataDirs, tag);
  if (enumerated.files.length === 0) {
    throw new UsageError(`snapshot "${tag}" has no files under ${ctx.dataDirs.join(', ')}: check --data-dir / cassandra.yaml`);
  }
  const record = recordOf(ctx.dataDirs, enumerated.files);
  if (recorded?.record !== undefined) assertUnchanged(tag, recorded.record, record);
  else {
    await cacheWrite(ctx, `record the files of snapshot "${tag}" (a resume of it then needs every --data-dir named)`,
      () => ctx.registry.record(tag, record));
  }
  const result = await runBackup(
    { command: 'snapshot', kind: 'snapshot', tag, files: enumerated.files, startedAt, cassandra, snapshotAt,
      nodetool: { command: ['nodetool', ...taken.args], exitCode: 0 }, journalName: `snapshot-${tag}`, vanishedIsFailure: true },
    catalog, lease, ctx,
  ).catch(async (err: unknown) => {
    throw err instanceof UsageError ? err : await uploadFailure(err, tag, record, ctx);
  });
  const notCleared = input.keepSnapshot ? undefined : await clearUploaded(tag, result, ctx);
  emitSummary(ctx, 'snapshot', tag, startedAt, result);
  // The manifest is written: this member is complete, whether or not its local clean-up is.
  if (slot !== undefined) {
    await markNodeComplete(ctx, slot, facts, result.manifest);
    await reportCompletion(ctx, slot, ring);
  }
  if (notCleared !== undefined) throw notCleared;
  return result;
}

async function takeSnapshot(input: SnapshotInput, ctx: BackupContext): Promise<{ tag: string; args: string[] }> {
  await ctx.checkFreeSpace();
  const taken = await ctx.nodetool.snapshot(input.nodetoolArgs);
  await cacheWrite(ctx, `register snapshot "${taken.tag}" (a later run would not clear it if it were left behind)`,
    () => ctx.registry.add(taken.tag, ctx.now()));
  return taken;
}

/** Snapshots this tool took and left behind (a crash, or a failure nobody resumed) pin disk space: clear old ones. */
async function clearStaleSnapshots(ctx: BackupContext, keep: string | undefined): Promise<void> {
  if (ctx.staleSnapshotAgeHours <= 0) return;
  const cutoff = new Date(ctx.now().getTime() - ctx.staleSnapshotAgeHours * 3_600_000);
  for (const tag of await ctx.registry.olderThan(cutoff)) {
    if (tag === keep) continue;
    if (await ctx.enumerate.snapshotExists(ctx.dataDirs, tag)) {
      await ctx.nodetool.clearSnapshot(tag);
      ctx.reporter.emit({ type: 'warning', message: `cleared stale snapshot "${tag}" that an earlier run took and did not clear (older than ${ctx.staleSnapshotAgeHours} h)` });
    }
    await ctx.files.remove(journalPath(ctx.stateDir, ctx.nodeId, `snapshot-${tag}`)).catch(() => undefined); // may not exist
    await ctx.registry.remove(tag);
  }
}

/**
 * A resume uploads the snapshot as it was first enumerated, from the same data directories: a resume that saw
 * only some of them would write a complete-looking manifest of a part, then clear the snapshot everywhere.
 */
async function resumable(tag: string, ctx: BackupContext): Promise<{ tag: string; record: SnapshotRecord | undefined }> {
  const record = await ctx.registry.recorded(tag);
  if (record === undefined) {
    // Not taken by this tool with this state directory: only the operator can say where all of it lies.
    if (!ctx.dataDirsGiven) {
      throw new UsageError(`no record of a snapshot "${tag}" taken by cass-backup-run with state directory ${ctx.stateDir}, so it is ` +
        `not known which data directories it spans: name every one of them with --data-dir, or use the state directory of the run that took it`);
    }
    if (!(await ctx.enumerate.snapshotExists(ctx.dataDirs, tag))) throw new UsageError(`no snapshot "${tag}" under ${ctx.dataDirs.join(', ')} to resume`);
    return { tag, record: undefined };
  }
  const now = ctx.dataDirs.map((d) => resolve(d));
  const then = record.dataDirs.map((d) => resolve(d));
  if (now.join('\0') !== then.join('\0')) {
    throw new UsageError(`snapshot "${tag}" was taken in the data directories ${then.join(', ')}, but this run has ${now.join(', ')}; ` +
      `resume it with the same ones: ${then.map((d) => `--data-dir ${shellQuote(d)}`).join(' ')}`);
  }
  if (!(await ctx.enumerate.snapshotExists(ctx.dataDirs, tag))) {
    throw new UsageError(`no snapshot "${tag}" under ${ctx.dataDirs.join(', ')} to resume (cleared since?)`);
  }
  return { tag, record };
}

/** The snapshot's files must be the ones first enumerated: a snapshot is immutable hard links. */
function assertUnchanged(tag: string, then: SnapshotRecord, now: SnapshotRecord): void {
  const change = describeChange(then, now);
  if (change === undefined) return;
  throw new IncompleteError(`snapshot "${tag}" is not what it was when its upload started (${change}); it cannot be resumed: take a new snapshot`);
}

function dryRun(input: SnapshotInput, ctx: BackupContext): undefined {
  const what = input.resumeTag !== undefined
    ? `upload the existing snapshot "${input.resumeTag}"`
    : `run: nodetool snapshot ${input.nodetoolArgs.join(' ')}`.trim();
  ctx.reporter.emit({ type: 'info', message: `dry run: would ${what}, upload it to ${ctx.backend.description}, then clear it` });
  return undefined;
}
