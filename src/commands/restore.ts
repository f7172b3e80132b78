import type { CatalogContext } from './catalog-context.ts';
import { IncompleteError, UnsafePathError, UsageError } from '../errors.ts';
import { parseTableFilter } from '../cassandra/layout.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { loadManifests, manifestCache, resolveBackup, type CatalogReader } from '../catalog/select.ts';
import { mayBeInWindow, planRestore, type RestoreItem, type RestorePlan } from '../restore/plan.ts';
import { parseUntil } from '../restore/until.ts';
import { assertNoSymlinks, assertTargetsSafe, inspectRoot, openTargetTree, type TargetTree } from '../restore/target-dir.ts';
import { restoreFile, type DecryptStage } from '../restore/download.ts';
import { identitiesFor, type Identities } from '../crypto/identity.ts';
import { decryptStage } from '../crypto/decrypting-stream.ts';
import { syncDirectories } from '../restore/durable.ts';
import { dryRunDocument, dryRunText, resultDocument, resultText, type RestoreFacts, type TargetReport } from '../restore/report.ts';
import { forEachLimit } from '../upload/pool.ts';
import { endTransfer, trackFile } from '../report.ts';
import { assertUsableRoot, planPointInTime, pointInTimeSteps, restoreCommitLogs, snapshotBefore, type PointInTimePlan } from '../restore/point-in-time.ts';

export interface RestoreInput {
  /** A snapshot backup tag, or `latest`. */
  readonly backup: string;
  readonly to: string;
  /** keyspace or keyspace.table names; empty = everything. */
  readonly tables: readonly string[];
  /** Also apply incremental backups taken after the snapshot, up to this time (ISO 8601 or `now`). */
  readonly until: string | undefined;
  /** Write into a non-empty directory. */
  readonly force: boolean;
  /** Keyspaces left out whatever the filters say (a cluster restore leaves out the node-local `system`). */
  readonly excludeKeyspaces?: readonly string[];
  /** What a caller adds to the result (a cluster restore: the token settings), in the JSON document and after the text. */
  readonly appendix?: (done: { readonly bytes: number; readonly seconds: number }) => { readonly json: Record<string, unknown>; readonly text: string };
  /** The operator's age identities (--identity), for encrypted backups. */
  readonly identities?: Identities;
  /** --point-in-time: like `until`, plus the archived commit-log segments up to this time, replayed by Cassandra. */
  readonly pointInTime?: string | undefined;
}

/** A node's backup resolved and planned: what `restore` would write. */
export interface NodeRestore {
  readonly snapshot: Manifest;
  readonly plan: RestorePlan;
  readonly untilMs: number | undefined;
  /** How the files of encrypted backups are decrypted (the identity checked against every backup drawn from). */
  readonly decrypt: DecryptStage | undefined;
  /** With --point-in-time: the commit-log segments that reach the time (coverage checked). */
  readonly pitr: PointInTimePlan | undefined;
}

export interface Outcome {
  written: number;
  present: number;
  bytes: number;
  readonly failures: string[];
  unsafe: UnsafePathError | undefined;
}

export async function restoreCommand(input: RestoreInput, ctx: CatalogContext): Promise<void> {
  const started = ctx.now().getTime();
  if (input.pointInTime !== undefined) assertUsableRoot(input.to);
  const { snapshot, plan, untilMs, decrypt, pitr } = await planNodeRestore(input, ctx);
  if (ctx.dryRun) return rehearse({ snapshot, plan, untilMs }, input, ctx);
  const tree = await openTargetTree(input.to, input.force);
  const root = tree.root;
  await assertTargetsSafe(tree, plan.items.map((i) => i.target));
  announce(snapshot, plan, root, ctx);
  const outcome = await downloadAll(plan.items, tree, input.force, ctx, decrypt);
  ctx.signal.throwIfAborted();
  if (outcome.unsafe) throw outcome.unsafe;
  if (outcome.failures.length > 0) {
    throw new IncompleteError(`restore ${snapshot.tag}: ${outcome.failures.length} of ${plan.items.length} files failed; ` +
      `the others are in ${root} (run again with --force to fetch only what is missing)`, outcome.failures.sort());
  }
  const facts: RestoreFacts = { snapshot, plan, root, untilMs };
  const commitLog = pitr === undefined ? undefined : await commitLogPart(pitr, root, input.force, ctx);
  const extra = input.appendix?.({ bytes: outcome.bytes, seconds: (ctx.now().getTime() - started) / 1000 });
  ctx.out(ctx.json ? `${JSON.stringify({ ...resultDocument(facts, outcome), ...(commitLog ? { pointInTime: commitLog.doc } : {}), ...extra?.json })}\n` :
    resultText(facts, outcome) + (commitLog?.text ?? '') + (extra?.text ?? ''));
}

/** Resolves the node's backup (ctx.nodeId) and plans what a restore of it writes; checks the plan. Reads only. */
export async function planNodeRestore(input: Omit<RestoreInput, 'to' | 'appendix'>, ctx: CatalogContext): Promise<NodeRestore> {
  // Everything the operator typed is checked before the store is asked anything.
  const filters = input.tables.map(parseTableFilter);
  if (input.until !== undefined && input.pointInTime !== undefined) throw new UsageError('give --until or --point-in-time, not both');
  const untilSpec = input.pointInTime ?? input.until;
  const untilMs = untilSpec === undefined ? undefined : parseUntil(untilSpec, ctx.now());
  const reader: CatalogReader = {
    backend: ctx.backend, cacheDir: await manifestCache(ctx.stateDir), concurrency: ctx.concurrency, signal: ctx.signal,
    warn: (message) => warn(ctx, message),
  };
  const snapshot = input.pointInTime !== undefined && untilMs !== undefined && input.backup === 'latest'
    ? await snapshotBeforeTime(reader, ctx.nodeId, untilMs) : await resolveBackup(reader, ctx.nodeId, input.backup);
  if (snapshot.kind !== 'snapshot') {
    throw new UsageError(`${snapshot.tag} is an incremental backup; restore a snapshot and add incrementals with --until`);
  }
  const incrementals = untilMs === undefined ? [] : await incrementalsFor(reader, snapshot, untilMs, ctx);
  const planned = planRestore({ snapshot, incrementals, filters, untilMs });
  const excluded = new Set(input.excludeKeyspaces ?? []);
  const plan = excluded.size === 0 ? planned : { ...planned, items: planned.items.filter((i) => !excluded.has(i.table.keyspace)) };
  checkPlan(plan, input, snapshot, untilMs, ctx);
  // Before anything is written: a wrong or missing identity is one line (exit 2), not a failure per file.
  // Only the backups this restore draws files from matter (--until reads every manifest of the node).
  let identities: Identities | undefined;
  const drawn = new Set(plan.items.map((i) => i.from.tag));
  for (const m of [snapshot, ...incrementals.filter((i) => drawn.has(i.tag))]) {
    identities = identitiesFor(m.encryption === undefined ? undefined : { tag: m.tag, recipients: m.encryption.recipients }, input.identities, 'restore') ?? identities;
  }
  const pitr = input.pointInTime === undefined || untilMs === undefined ? undefined
    : await planPointInTime(ctx.backend, ctx.nodeId, snapshot, untilMs, ctx.signal);
  if (pitr) info(ctx, `point in time: ${pitr.segments.length} commit-log segments (${pitr.segments[0]?.name} … ${pitr.segments.at(-1)?.name})`);
  return { snapshot, plan, untilMs, decrypt: identities === undefined ? undefined : decryptStage(identities), pitr };
}

/** The segments and Cassandra's restore settings, after the SSTables: a restore is complete only with both. */
async function commitLogPart(pitr: PointInTimePlan, root: string, force: boolean, ctx: CatalogContext) {
  const restored = await restoreCommitLogs(ctx.backend, pitr, root, force, { concurrency: ctx.concurrency, signal: ctx.signal });
  ctx.signal.throwIfAborted();
  if (restored.failures.length > 0) {
    throw new IncompleteError(`restore --point-in-time: ${restored.failures.length} of ${restored.segments} commit-log segments failed; ` +
      `no restore settings were written (run again with --force)`, restored.failures.sort());
  }
  return {
    text: pointInTimeSteps(root, restored, pitr.untilMs),
    doc: { time: new Date(pitr.untilMs).toISOString(), segments: pitr.segments.map((s) => s.name), commitLogDir: restored.dir,
      properties: restored.properties, bytes: restored.bytes },
  };
}

async function snapshotBeforeTime(reader: CatalogReader, nodeId: string, untilMs: number): Promise<Manifest> {
  const { manifests } = await loadManifests(reader, nodeId);
  const found = snapshotBefore(manifests, untilMs);
  if (!found) throw new UsageError(`node ${nodeId} has no snapshot backup that started before ${new Date(untilMs).toISOString()}`);
  return found;
}

/**
 * The node's incremental manifests for `--until`. One that cannot be read or is damaged is skipped (with a
 * warning) only when it is known to lie outside the window; otherwise it may hold files this restore needs, and
 * restoring without them would silently lack data.
 */
async function incrementalsFor(reader: CatalogReader, snapshot: Manifest, untilMs: number, ctx: CatalogContext): Promise<Manifest[]> {
  const { manifests, problems } = await loadManifests(reader, ctx.nodeId);
  for (const p of problems) {
    if (p.damaged === undefined || mayBeInWindow(snapshot, p.damaged, untilMs)) {
      throw new IncompleteError(`restore ${snapshot.tag} --until: manifest ${p.key} cannot be read (${p.error}) and may hold files ` +
        `this restore needs; nothing was written. Repair or remove that manifest, or restore without --until`);
    }
    warn(ctx, `skipped damaged manifest ${p.key} (${p.error}): it is not an incremental backup of this restore's window`);
  }
  return manifests;
}

/**
 * --dry-run: the checks of a real restore that only read (the target directory, symlinks on the way to each
 * target), then the plan on stdout. Creates no directory and writes no file.
 */
async function rehearse(planned: Omit<RestoreFacts, 'root'>, input: RestoreInput, ctx: CatalogContext): Promise<void> {
  const state = await inspectRoot(input.to);
  let filesPresent = 0;
  if (state.exists) {
    const checked = new Set<string>();
    for (const item of planned.plan.items) if (await assertNoSymlinks(state.root, item.target, checked)) filesPresent += 1;
  }
  const target: TargetReport = { ...state, force: input.force, filesPresent };
  const facts: RestoreFacts = { ...planned, root: state.root };
  info(ctx, 'dry run: nothing is written, no directory is created');
  const extra = input.appendix?.({ bytes: 0, seconds: 0 });
  ctx.out(ctx.json ? `${JSON.stringify({ ...dryRunDocument(facts, target), ...extra?.json })}\n` :
    dryRunText(facts, target) + (extra?.text ?? ''));
}

function checkPlan(plan: RestorePlan, input: Pick<RestoreInput, 'tables'>, snapshot: Manifest, untilMs: number | undefined, ctx: CatalogContext): void {
  if (plan.conflicts.length > 0) {
    throw new IncompleteError(`restore ${snapshot.tag}: backups disagree about the content of ${plan.conflicts.length} files; nothing was written`,
      plan.conflicts);
  }
  for (const p of plan.unplaceable) warn(ctx, `not restored (not in Cassandra's table layout): ${p}`);
  if (plan.superseded > 0) {
    warn(ctx, `${plan.superseded} SSTable component(s) of incremental backups are older copies of what the snapshot holds ` +
      `(rewritten in place since their flush, e.g. Statistics.db after a repair): the snapshot's were taken`);
  }
  if (!plan.items.some((i) => i.data)) {
    const what = input.tables.length > 0 ? ` matching --table ${input.tables.join(' ')}` : '';
    throw new UsageError(`backup ${snapshot.tag} of node ${snapshot.nodeId} has no table data${what}`);
  }
  if (untilMs !== undefined && untilMs < Date.parse(snapshot.startedAt)) {
    warn(ctx, `--until is before the snapshot started (${snapshot.startedAt}): no incremental backups apply`);
  }
}

/** Downloads the planned files into root (parallel, checked, resumable); failures are collected, not thrown. */
export async function downloadAll(
  items: readonly RestoreItem[], tree: TargetTree, force: boolean, ctx: CatalogContext, decrypt: DecryptStage | undefined,
): Promise<Outcome> {
  const outcome: Outcome = { written: 0, present: 0, bytes: 0, failures: [], unsafe: undefined };
  const renamed: string[] = [];
  // A refused path stops the whole restore: the workers take no new file once this is aborted.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  try {
    await forEachLimit(items, ctx.concurrency, signal, async (item) => {
      const tracker = trackFile(ctx.reporter, item.target, item.file.size);
      try {
        const done = await restoreFile(ctx.backend, { tree, target: item.target, file: item.file }, force, ctx.signal, (n) => tracker.add(n), decrypt);
        if (done === 'written') {
          outcome.written += 1;
          renamed.push(item.target);
        } else outcome.present += 1;
        outcome.bytes += item.file.size;
        ctx.reporter.emit({ type: 'file', path: item.target, key: item.file.key, action: done === 'written' ? 'restored' : 'present',
          bytes: done === 'written' ? item.file.size : 0, size: item.file.size });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        if (err instanceof UnsafePathError) {
          outcome.unsafe ??= err;
          stop.abort(err);
          return;
        }
        outcome.failures.push(`${item.target}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        tracker.end();
      }
    });
  } finally {
    endTransfer(ctx.reporter);
  }
  if (outcome.unsafe === undefined) await syncRenames(tree.root, renamed, ctx);
  return outcome;
}

/** The renames on disk before any success is reported; a directory that cannot be synced makes the restore incomplete. */
async function syncRenames(root: string, renamed: readonly string[], ctx: CatalogContext): Promise<void> {
  try {
    await syncDirectories(root, renamed, ctx.concurrency, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw new IncompleteError(`restore: the restored files could not be synced to disk in ${root} ` +
      `(${err instanceof Error ? err.message : String(err)}); run again with --force`, []);
  }
}

function announce(snapshot: Manifest, plan: RestorePlan, root: string, ctx: CatalogContext): void {
  const bytes = plan.items.reduce((n, i) => n + i.file.size, 0);
  const extra = plan.items.filter((i) => i.from.kind === 'incremental').length;
  info(ctx, `restore ${snapshot.tag} of node ${snapshot.nodeId} (snapshot started ${snapshot.startedAt}` +
    `${extra > 0 ? `, plus ${extra} incremental files` : ''})`);
  ctx.reporter.emit({ type: 'start', command: 'restore', tag: snapshot.tag, source: ctx.backend.description, destination: root,
    files: plan.items.length, bytes });
}

// In --json mode stdout ends with the one result document; these lines would say nothing a script needs.
function info(ctx: CatalogContext, message: string): void {
  if (!ctx.json) ctx.reporter.emit({ type: 'info', message });
}

function warn(ctx: CatalogContext, message: string): void {
  ctx.reporter.emit({ type: 'warning', message });
}

