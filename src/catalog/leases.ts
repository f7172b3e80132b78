// Run leases (DESIGN section 10): a run that writes, references or deletes a node's objects announces itself in
// the bucket, under the node's catalog, and refreshes a heartbeat while it runs. Every host that shares the bucket
// sees them, so protection no longer depends on one host's state directory. Pure: documents, keys and judgments.
import { CATALOG_DIR } from './keys.ts';

export const LEASE_FORMAT = 1;

/** What a run does to the node's objects: a backup stores and references them, a purge deletes them. */
export type LeaseKind = 'backup' | 'purge';

export interface Lease {
  readonly format: number;
  readonly runId: string;
  readonly nodeId: string;
  readonly kind: LeaseKind;
  /** The command as the operator would name it: snapshot, repair, incremental, purge. */
  readonly command: string;
  readonly hostname: string;
  readonly pid: number;
  readonly stateDir: string;
  /** The kernel's boot id: with hostname and state dir, tells a run of this very machine and state directory. */
  readonly bootId?: string;
  readonly toolVersion: string;
  /** The Cassandra host id this run writes for, once known. */
  readonly cassandraHostId?: string;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** How often the writer refreshes the heartbeat: a judge never calls it dead sooner than a few of these. */
  readonly heartbeatSeconds: number;
}

/** A lease as another run sees it: the document, and the store's time of its last write. */
export interface SeenLease {
  readonly key: string;
  readonly lease: Lease;
  readonly lastModified: Date | undefined;
}

export interface JudgedLease extends SeenLease {
  readonly live: boolean;
  /** Milliseconds since its last heartbeat, by the store's clock where the store gives one. */
  readonly ageMs: number;
}

export function runsPrefix(nodeId: string): string {
  return `${nodeId}/${CATALOG_DIR}/runs/`;
}

export function leaseKey(nodeId: string, runId: string): string {
  return `${runsPrefix(nodeId)}${runId}.json`;
}

/** Sortable by start, unique without coordination. */
export function newRunId(at: Date, random: string): string {
  return `${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${random}`;
}

export function serializeLease(lease: Lease): string {
  return `${JSON.stringify(lease)}\n`;
}

/** undefined when the text is not a lease this version understands (a judge then treats it as live: safe side). */
export function parseLease(text: string): Lease | undefined {
  try {
    const v = JSON.parse(text) as Partial<Lease>;
    const ok = typeof v.runId === 'string' && typeof v.nodeId === 'string' && (v.kind === 'backup' || v.kind === 'purge') &&
      typeof v.command === 'string' && typeof v.startedAt === 'string' && typeof v.heartbeatAt === 'string' &&
      typeof v.heartbeatSeconds === 'number';
    return ok ? (v as Lease) : undefined;
  } catch {
    return undefined;
  }
}

/** At least this many missed heartbeats before a lease is dead, whatever the judge's own timeout. */
const MISSED_HEARTBEATS = 4;

/** Where a run runs: a judge holding the lock of this state directory knows that no other run of it is alive. */
export interface Runner {
  readonly hostname: string;
  readonly stateDir: string;
  readonly bootId: string | undefined;
}

/**
 * Live unless its last heartbeat is older than the judge's timeout and several of the writer's own heartbeat
 * intervals. The store's time of the last write is preferred to the writer's clock: one clock for all writers.
 * A lease written from the judge's own machine (same boot) and state directory is dead at once: the judge holds
 * that state directory's lock, so the run that wrote it has ended (a crash, kill -9).
 */
export function judgeLease(seen: SeenLease, now: Date, timeoutMs: number, judge?: Runner): JudgedLease {
  const stored = seen.lastModified?.getTime();
  const written = Date.parse(seen.lease.heartbeatAt);
  const last = stored !== undefined && Number.isFinite(stored) ? stored : written;
  const ageMs = Number.isFinite(last) ? Math.max(0, now.getTime() - last) : Number.POSITIVE_INFINITY;
  const bound = Math.max(timeoutMs, MISSED_HEARTBEATS * seen.lease.heartbeatSeconds * 1000);
  const l = seen.lease;
  const ours = judge?.bootId !== undefined && l.bootId === judge.bootId && l.hostname === judge.hostname && l.stateDir === judge.stateDir;
  return { ...seen, live: !ours && ageMs <= bound, ageMs };
}

/** One line naming a lease for an operator: what, where, since when, how fresh. */
export function describeLease(j: JudgedLease): string {
  const l = j.lease;
  const host = l.cassandraHostId ? `, Cassandra host ${l.cassandraHostId}` : '';
  const state = j.live ? `heartbeat ${Math.round(j.ageMs / 1000)} s ago` : `no heartbeat for ${Math.round(j.ageMs / 1000)} s: dead`;
  return `${l.command} run ${l.runId} on ${l.hostname} (pid ${l.pid}, state dir ${l.stateDir}${host}), started ${l.startedAt}, ${state}`;
}
