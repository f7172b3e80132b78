// A node's part in a cluster backup (`snapshot --tag-slot daily|hourly`): the slot's id, joining it in the bucket
// before the snapshot (with the ring as this node sees it), an optional bounded wait for the others, and, once this
// node's manifest is written, writing the cluster manifest if every expected member is complete.
import { UsageError } from '../errors.ts';
import { manifestKey } from '../catalog/keys.ts';
import { manifestCacheDir } from '../state-dir.ts';
import type { RingMember } from '../cassandra/ring.ts';
import { clusterSegment, slotTag, type SlotKind } from '../cluster/slot.ts';
import { CLUSTER_FORMAT, type MemberRecord } from '../cluster/records.ts';
import {
  completeClusterBackup, completeRecordOf, joinClusterBackup, markComplete, progressOf, readClusterBackup, type ClusterCatalogDeps,
} from '../cluster/cluster-catalog.ts';
import type { CassandraFacts, Manifest } from '../catalog/manifest.ts';
import type { BackupContext } from './context.ts';

export interface ClusterSlot {
  readonly clusterName: string;
  /** The cluster's segment in the bucket. */
  readonly cluster: string;
  /** The cluster backup id, which is also this node's snapshot tag. */
  readonly id: string;
}

export function slotFor(kind: SlotKind, facts: CassandraFacts, ctx: BackupContext, at: Date): ClusterSlot {
  const clusterName = facts.clusterName ?? ctx.clusterNameFromYaml;
  if (clusterName === undefined) {
    throw new UsageError('--tag-slot needs the cluster name, and neither nodetool describecluster nor cassandra.yaml gave one');
  }
  return { clusterName, cluster: clusterSegment(clusterName), id: slotTag(kind, clusterName, at) };
}

function catalogDeps(ctx: BackupContext): ClusterCatalogDeps {
  return { backend: ctx.backend, signal: ctx.signal, concurrency: ctx.concurrency, cacheDir: manifestCacheDir(ctx.stateDir) };
}

/** This node's part is already in the bucket (a second run in the same slot). */
export async function alreadyBackedUp(ctx: BackupContext, slot: ClusterSlot): Promise<boolean> {
  return (await ctx.backend.stat(manifestKey(ctx.nodeId, slot.id), { signal: ctx.signal })) !== undefined;
}

/** Records, create-only, that this node joined the cluster backup, with the ring as it sees it now. */
export async function joinSlot(ctx: BackupContext, slot: ClusterSlot, facts: CassandraFacts, ring: readonly RingMember[]): Promise<void> {
  const self = ring.find((m) => m.hostId === facts.hostId);
  if (facts.hostId === undefined || self === undefined) {
    throw new UsageError(`this node (Cassandra host ${facts.hostId ?? 'unknown'}) is not in the ring nodetool status shows: cannot join cluster backup ${slot.id}`);
  }
  const record: MemberRecord = {
    format: CLUSTER_FORMAT, clusterName: slot.clusterName, cluster: slot.cluster, id: slot.id, hostId: self.hostId,
    address: self.address, dataCenter: self.dataCenter, rack: self.rack, tokens: self.tokens, nodeId: ctx.nodeId,
    manifestKey: manifestKey(ctx.nodeId, slot.id), hostname: ctx.hostname, joinedAt: ctx.now().toISOString(),
    partitioner: facts.partitioner, ring: ring.map(({ tokens: _tokens, ...view }) => view), keyspaces: facts.keyspaces ?? [],
  };
  await joinClusterBackup(catalogDeps(ctx), record);
  info(ctx, `joined cluster backup ${slot.id} of cluster ${slot.clusterName} (${ring.length} node(s) in the ring as this node sees it)`);
}

/**
 * `--cluster-wait`: waits, at most `waitMs`, until every node that is up and normal in this node's view of the ring
 * has joined, so that the snapshots are taken close together. Down nodes are not waited for. Never fails the run.
 */
export async function waitForOthers(ctx: BackupContext, slot: ClusterSlot, ring: readonly RingMember[], waitMs: number,
  sleep: (ms: number) => Promise<void>): Promise<void> {
  const wanted = ring.filter((m) => m.status === 'up' && m.state === 'normal').map((m) => m.hostId);
  const deadline = ctx.now().getTime() + waitMs;
  for (;;) {
    const { joined } = await progressOf(catalogDeps(ctx), slot.cluster, slot.id);
    const waiting = ring.filter((m) => wanted.includes(m.hostId) && !joined.has(m.hostId));
    if (waiting.length === 0) return info(ctx, `every node that is up has joined cluster backup ${slot.id}`);
    if (ctx.now().getTime() >= deadline) {
      return warn(ctx, `--cluster-wait: still waiting for ${waiting.map((m) => m.address).join(', ')}; taking the snapshot now`);
    }
    await sleep(Math.min(2000, Math.max(0, deadline - ctx.now().getTime())));
  }
}

/** After this node's manifest: this member's completion record, then the cluster's completion. */
export async function markNodeComplete(ctx: BackupContext, slot: ClusterSlot, facts: CassandraFacts, manifest: Manifest): Promise<void> {
  if (facts.hostId === undefined) return;
  try {
    await markComplete(catalogDeps(ctx), slot.cluster, slot.id, completeRecordOf(manifest, facts.hostId, manifestKey(ctx.nodeId, slot.id)));
  } catch (err) {
    // The node manifest is what counts: a later list --cluster finds it and records the completion then.
    warn(ctx, `could not record this node's completion of cluster backup ${slot.id}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The cluster manifest if every expected member is complete now (whichever node is last writes it), else what is
 * still missing. One listing while members this node expects are missing; only reported: this node's backup is
 * complete either way.
 */
export async function reportCompletion(ctx: BackupContext, slot: ClusterSlot, ring: readonly RingMember[] | undefined): Promise<void> {
  try {
    const deps = catalogDeps(ctx);
    const progress = await progressOf(deps, slot.cluster, slot.id);
    const waiting = (ring ?? []).filter((m) => m.state === 'normal' && !progress.completed.has(m.hostId));
    if (!progress.manifest && waiting.length > 0) {
      info(ctx, `cluster backup ${slot.id}: ${progress.completed.size} member(s) complete; waiting for ` +
        `${waiting.map((m) => `${m.address} (${progress.joined.has(m.hostId) ? 'running or failed' : 'not joined'})`).join(', ')}`);
      return;
    }
    const state = await readClusterBackup(deps, slot.cluster, slot.id);
    const manifest = await completeClusterBackup(deps, state, ctx.nodeId, ctx.now());
    if (manifest !== undefined) {
      info(ctx, `cluster backup ${slot.id} is complete: ${manifest.members.length} member(s), snapshot skew ${manifest.skewSeconds} s`);
    } else {
      const missing = state.missing.map((m) => `${m.member.address} (${m.joined ? 'running or failed' : 'not joined'})`);
      info(ctx, `cluster backup ${slot.id}: ${state.completed.size} of ${state.expected.length} member(s) complete; waiting for ${missing.join(', ')}` +
        `${state.problems.length > 0 ? `; unreadable: ${state.problems.join('; ')}` : ''}`);
    }
  } catch (err) {
    warn(ctx, `could not check cluster backup ${slot.id}: ${err instanceof Error ? err.message : String(err)} ` +
      `(this node's backup is complete; list --cluster completes the cluster backup later)`);
  }
}

function info(ctx: BackupContext, message: string): void {
  ctx.reporter.emit({ type: 'info', message });
}

function warn(ctx: BackupContext, message: string): void {
  ctx.reporter.emit({ type: 'warning', message });
}
