// How a run is announced in the bucket (DESIGN section 10), the one module every command uses for it.
//
// Protocol, for runs of one node id (backups and purges, on any host, with any state directory):
// - each run writes its lease create-only, and only then lists the node's leases;
// - a backup that sees another live backup yields (exit 75), or refuses (exit 2) when that one writes for another
//   Cassandra host; a backup that sees a live purge waits until the purge is gone;
// - a purge that sees a live backup deletes no data object (it may still expire manifests: the backup confirms
//   every object it references before it writes its own manifest).
// Writing before reading means that of two runs that overlap, at least one sees the other (the stores are strongly
// consistent for a single key and for listings), and whichever sees the other gives way.
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { LockedError, UsageError } from '../errors.ts';
import type { Backend } from '../storage/backend.ts';
import {
  LEASE_FORMAT, describeLease, judgeLease, leaseKey, newRunId, parseLease, runsPrefix, serializeLease,
  type JudgedLease, type Lease, type Runner, type SeenLease,
} from './leases.ts';
import { chunksSource } from '../storage/source.ts';

export interface LeaseSettings {
  /** A lease whose heartbeat is older than this is dead (its run crashed or was killed). */
  readonly timeoutMs: number;
  /** The judging run, holding its state directory's lock (see judgeLease). */
  readonly judge?: Runner;
}

export interface RunLeaseDeps {
  readonly backend: Backend;
  readonly now: () => Date;
  readonly signal: AbortSignal;
  readonly warn: (message: string) => void;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Who announces a run: the lease's own fields, before it has a run id and times. */
export type RunIdentity = Pick<Lease, 'nodeId' | 'kind' | 'command' | 'hostname' | 'pid' | 'stateDir' | 'toolVersion'> & {
  readonly bootId: string | undefined;
  readonly cassandraHostId?: string | undefined;
};

export interface RunLease {
  readonly runId: string;
  readonly key: string;
  /** The other leases of this node, judged now. */
  others(): Promise<JudgedLease[]>;
  /** Records the Cassandra host id once nodetool has told it. */
  setCassandraHostId(hostId: string): Promise<void>;
  /** Stops the heartbeat and deletes the lease; never throws (a lease left behind only ages into "dead"). */
  release(): Promise<void>;
}

/** The heartbeat interval for a timeout: several heartbeats fit in one timeout, and never more than a minute apart. */
export function heartbeatMsFor(timeoutMs: number): number {
  return Math.max(200, Math.min(60_000, Math.floor(timeoutMs / 5)));
}

/** Every lease of a node, judged. A lease that cannot be parsed is judged by its age alone. */
export async function readLeases(backend: Backend, nodeId: string, now: Date, settings: LeaseSettings,
  signal?: AbortSignal): Promise<JudgedLease[]> {
  const seen: SeenLease[] = [];
  for await (const object of backend.list(runsPrefix(nodeId), { signal })) {
    if (!object.key.endsWith('.json')) continue;
    const body = await readBody(backend, object.key, signal);
    if (body === undefined) continue; // released between listing and reading
    const lease = parseLease(body) ?? unknownLease(object.key, nodeId, object.lastModified);
    seen.push({ key: object.key, lease, lastModified: object.lastModified });
  }
  return seen.map((s) => judgeLease(s, now, settings.timeoutMs, settings.judge));
}

async function readBody(backend: Backend, key: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return await text(await backend.get(key, { signal }));
  } catch (err) {
    if (signal?.aborted) throw err;
    if ((await backend.stat(key, { signal })) === undefined) return undefined;
    throw err;
  }
}

function unknownLease(key: string, nodeId: string, lastModified: Date | undefined): Lease {
  const at = (lastModified ?? new Date(0)).toISOString();
  return {
    format: 0, runId: key.slice(key.lastIndexOf('/') + 1, -'.json'.length), nodeId, kind: 'backup', command: 'unknown',
    hostname: '?', pid: 0, stateDir: '?', toolVersion: '?', startedAt: at, heartbeatAt: at, heartbeatSeconds: 0,
  };
}

/** Writes the lease (create-only) and keeps its heartbeat fresh until released. */
export async function takeRunLease(who: RunIdentity, settings: LeaseSettings, deps: RunLeaseDeps): Promise<RunLease> {
  const started = deps.now();
  const runId = newRunId(started, randomBytes(4).toString('hex'));
  const key = leaseKey(who.nodeId, runId);
  const heartbeatMs = heartbeatMsFor(settings.timeoutMs);
  const judged: LeaseSettings = { ...settings, judge: { hostname: who.hostname, stateDir: who.stateDir, bootId: who.bootId } };
  let lease: Lease = {
    format: LEASE_FORMAT, runId, nodeId: who.nodeId, kind: who.kind, command: who.command, hostname: who.hostname,
    pid: who.pid, stateDir: who.stateDir, ...(who.bootId ? { bootId: who.bootId } : {}), toolVersion: who.toolVersion,
    ...(who.cassandraHostId ? { cassandraHostId: who.cassandraHostId } : {}),
    startedAt: started.toISOString(), heartbeatAt: started.toISOString(), heartbeatSeconds: heartbeatMs / 1000,
  };
  const write = (createOnly: boolean, signal: AbortSignal) =>
    deps.backend.put(key, chunksSource([Buffer.from(serializeLease(lease))]), { signal, createOnly });
  await write(true, deps.signal);
  // Heartbeats outlive an abort of the run (they stop at release), so they get their own signal.
  const beats = new AbortController();
  let inFlight: Promise<unknown> = Promise.resolve();
  let failing = false;
  const beat = (): void => {
    lease = { ...lease, heartbeatAt: deps.now().toISOString() };
    inFlight = write(false, beats.signal).then(() => { failing = false; }, (err: unknown) => {
      if (beats.signal.aborted || failing) return;
      failing = true;
      deps.warn(`could not refresh the run lease ${key}: ${err instanceof Error ? err.message : String(err)}`);
    });
  };
  const timer = setInterval(beat, heartbeatMs);
  timer.unref();
  let released = false;
  return {
    runId, key,
    others: async () => (await readLeases(deps.backend, who.nodeId, deps.now(), judged, deps.signal)).filter((j) => j.key !== key),
    async setCassandraHostId(hostId) {
      if (lease.cassandraHostId === hostId) return;
      lease = { ...lease, cassandraHostId: hostId };
      beat();
      await inFlight;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await inFlight;
      beats.abort();
      try {
        await deps.backend.delete([key], { signal: AbortSignal.timeout(15_000) });
      } catch (err) {
        deps.warn(`could not remove the run lease ${key} (it will be judged dead after ${Math.round(settings.timeoutMs / 1000)} s): ` +
          `${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}

/**
 * Announces a backup. Throws UsageError when a live backup of the same node id writes for another Cassandra host,
 * LockedError when another backup of this node id is live; waits while a purge of this node is live.
 */
export async function announceBackup(who: RunIdentity, settings: LeaseSettings, deps: RunLeaseDeps): Promise<RunLease> {
  const lease = await takeRunLease(who, settings, deps);
  try {
    await giveWayToOthers(lease, who, settings, deps);
    return lease;
  } catch (err) {
    await lease.release();
    throw err;
  }
}

async function giveWayToOthers(lease: RunLease, who: RunIdentity, settings: LeaseSettings, deps: RunLeaseDeps): Promise<void> {
  const waitUntil = deps.now().getTime() + 2 * settings.timeoutMs;
  for (let reported = false; ;) {
    const live = (await lease.others()).filter((j) => j.live);
    const backups = live.filter((j) => j.lease.kind === 'backup');
    const otherHost = backups.find((j) => j.lease.cassandraHostId && who.cassandraHostId && j.lease.cassandraHostId !== who.cassandraHostId);
    if (otherHost) {
      throw new UsageError(`node id ${who.nodeId} is in use by another Cassandra host: ${describeLease(otherHost)}; this node is ` +
        `Cassandra host ${who.cassandraHostId}. Give each node its own --node-id`);
    }
    if (backups[0]) throw new LockedError(`another backup of node ${who.nodeId} is in progress: ${describeLease(backups[0])}`);
    const purge = live.find((j) => j.lease.kind === 'purge');
    if (purge === undefined) return;
    if (deps.now().getTime() > waitUntil) throw new LockedError(`a purge of node ${who.nodeId} is still in progress: ${describeLease(purge)}`);
    if (!reported) deps.warn(`waiting for a purge of node ${who.nodeId} to finish: ${describeLease(purge)}`);
    reported = true;
    await (deps.sleep ?? sleep)(heartbeatMsFor(settings.timeoutMs), deps.signal);
  }
}

/** Announces a purge; `liveBackups` are the backups in progress (a purge then deletes no data object). */
export async function announcePurge(who: RunIdentity, settings: LeaseSettings, deps: RunLeaseDeps):
  Promise<{ lease: RunLease; liveRuns: () => Promise<JudgedLease[]> }> {
  const lease = await takeRunLease(who, settings, deps);
  return { lease, liveRuns: async () => (await lease.others()).filter((j) => j.live) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
