// `commitlogs`: uploads the segments archive-commitlog staged, writes one commit-log manifest naming them, and
// only then removes them from staging. Each segment is stored create-only (a segment never changes once
// archived, so an object already under its name with the same bytes is this segment, stored by an earlier run
// that stopped before its manifest) and confirmed in the store before the manifest names it. A segment that
// could not be stored stays staged and makes the run exit 4; the next run sends it again.
import { Readable, pipeline } from 'node:stream';
import { join } from 'node:path';
import type { CatalogContext } from './catalog-context.ts';
import { IncompleteError } from '../errors.ts';
import { isAlreadyExists, type PutSource } from '../storage/backend.ts';
import { fileSource } from '../storage/source.ts';
import { hashingSource } from '../upload/hashing-source.ts';
import { crc32cToBase64, crc32cUpdate } from '../checksum/crc32c.ts';
import { createRateLimiter, throttle } from '../upload/throttle.ts';
import { forEachLimit } from '../upload/pool.ts';
import { confirmInStore } from '../catalog/confirm.ts';
import { endTransfer, trackFile } from '../report.ts';
import { listStaged, unstage, type StagedSegment } from '../commitlog/staging.ts';
import { commitLogManifestKey, segmentKey, type ArchivedSegment, type CommitLogManifest } from '../commitlog/catalog.ts';
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';

export interface CommitLogsInput {
  readonly stagingDir: string;
  /** --max-rate, bytes per second for the whole run. */
  readonly maxRate: number | undefined;
}

export interface CommitLogsResult {
  readonly manifest: string | undefined;
  readonly stored: readonly ArchivedSegment[];
  /** The newest archive time among every segment this node has stored (for the metrics), when known. */
  readonly newestArchivedAt: string | undefined;
}

export async function commitLogsCommand(input: CommitLogsInput, ctx: CatalogContext): Promise<CommitLogsResult> {
  const lock = ctx.lock ? await ctx.lock('commitlogs') : undefined;
  try {
    return await uploadStaged(input, ctx);
  } finally {
    await lock?.release();
  }
}

async function uploadStaged(input: CommitLogsInput, ctx: CatalogContext): Promise<CommitLogsResult> {
  const started = ctx.now();
  // Sortable by time; the random part keeps two runs of one moment apart (manifests are create-only).
  const runId = `${started.toISOString().replace(/[:.]/g, '').replace('T', '-')}-${ctx.pid}-${randomBytes(3).toString('hex')}`;
  const staged = await listStaged(input.stagingDir);
  const bytes = staged.reduce((n, s) => n + s.size, 0);
  if (ctx.dryRun) {
    // Nothing stored, nothing unstaged: a dry run changes nothing.
    ctx.reporter.emit({ type: 'info', message: `dry run: would upload ${staged.length} staged segment(s), ${bytes} bytes, from ${input.stagingDir}` +
      `${staged.length > 0 ? ` (${staged[0]!.name} … ${staged.at(-1)!.name})` : ''}` });
    return { manifest: undefined, stored: [], newestArchivedAt: undefined };
  }
  ctx.reporter.emit({ type: 'start', command: 'commitlogs', tag: runId, source: input.stagingDir, destination: ctx.backend.description,
    files: staged.length, bytes });
  const limiter = input.maxRate === undefined ? undefined : createRateLimiter(input.maxRate);
  const stored: ArchivedSegment[] = [];
  const failures: string[] = [];
  let uploadedBytes = 0;
  try {
    await forEachLimit(staged, ctx.concurrency, ctx.signal, async (segment) => {
      try {
        const { entry, sent } = await storeSegment(segment, ctx, limiter);
        stored.push(entry);
        if (sent) uploadedBytes += segment.size;
        ctx.reporter.emit({ type: 'file', path: segment.name, key: entry.key, action: sent ? 'uploaded' : 'reused',
          bytes: sent ? segment.size : 0, size: segment.size });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        failures.push(`${segment.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  } finally {
    endTransfer(ctx.reporter);
  }
  ctx.signal.throwIfAborted();
  stored.sort((a, b) => a.id - b.id);
  const unconfirmed = await confirmInStore(ctx.backend, stored.map((s) => ({ key: s.key, path: s.name, size: s.size, crc32c: s.crc32c })),
    { concurrency: ctx.concurrency, signal: ctx.signal });
  const bad = new Set(unconfirmed.unconfirmed.map((u) => u.ref.key));
  for (const u of unconfirmed.unconfirmed) failures.push(`${u.ref.path}: not confirmed in the store (${u.problem})`);
  const confirmed = stored.filter((s) => !bad.has(s.key));
  let manifest: string | undefined;
  if (confirmed.length > 0) {
    manifest = commitLogManifestKey(ctx.nodeId, runId);
    const doc: CommitLogManifest = { format: 1, kind: 'commitlog', nodeId: ctx.nodeId, hostname: ctx.hostname, toolVersion: ctx.toolVersion,
      startedAt: started.toISOString(), finishedAt: ctx.now().toISOString(), segments: confirmed };
    const body = Buffer.from(`${JSON.stringify(doc, null, 1)}\n`);
    await ctx.backend.put(manifest, bufferSource(body), { signal: ctx.signal, createOnly: true });
    // Only now are the segments recorded: remove them from staging.
    const byName = new Map(staged.map((s) => [s.name, s]));
    for (const s of confirmed) await unstage(byName.get(s.name)!);
  }
  if (failures.length > 0) {
    throw new IncompleteError(`commitlogs: ${failures.length} of ${staged.length} staged segments were not stored; they stay in ` +
      `${input.stagingDir} for the next run${manifest ? ` (the ${confirmed.length} stored are in ${manifest})` : ''}`, failures);
  }
  const seconds = (ctx.now().getTime() - started.getTime()) / 1000;
  ctx.reporter.emit({ type: 'summary', command: 'commitlogs', tag: runId, ok: true, files: confirmed.length,
    uploadedFiles: confirmed.length, reusedFiles: 0, copiedFiles: 0, bytes: confirmed.reduce((n, s) => n + s.size, 0), uploadedBytes,
    seconds, mbPerSecond: seconds > 0 ? uploadedBytes / 1e6 / seconds : 0, ...(manifest ? { manifest } : {}), failures: [] });
  const newest = confirmed.map((s) => s.archivedAt).sort().at(-1);
  return { manifest, stored: confirmed, newestArchivedAt: newest };
}

/** Stores one segment create-only; `sent: false` when the store already held these very bytes under its name. */
async function storeSegment(segment: StagedSegment, ctx: CatalogContext, limiter: ReturnType<typeof createRateLimiter> | undefined):
  Promise<{ entry: ArchivedSegment; sent: boolean }> {
  const key = segmentKey(ctx.nodeId, segment.name);
  const entry = (crc32c: string): ArchivedSegment => ({ name: segment.name, version: segment.version, id: segment.id, key, size: segment.size,
    crc32c, archivedAt: segment.archivedAt, ...(segment.cassandraStartedAt ? { cassandraStartedAt: segment.cassandraStartedAt } : {}) });
  const inner = fileSource(segment.path, segment.size);
  const throttled: PutSource = limiter === undefined ? inner
    : { size: inner.size, open: (start, end) => pipeline(inner.open(start, end), throttle(limiter), () => {}) };
  const source = hashingSource(throttled);
  const tracker = trackFile(ctx.reporter, segment.name, segment.size);
  try {
    const info = await ctx.backend.put(key, source, { signal: ctx.signal, createOnly: true, onBytes: (n) => tracker.add(n) });
    const crc = source.result();
    if (crc === undefined) throw new Error(`internal: the bytes sent for ${key} were not fully hashed`);
    const crc32c = crc32cToBase64(crc);
    if (info.crc32c !== undefined && info.crc32c !== crc32c) throw new Error(`the store reports CRC32C ${info.crc32c} for ${key}, but ${crc32c} was sent`);
    return { entry: entry(crc32c), sent: true };
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const crc32c = crc32cToBase64(await hashFile(segment.path));
    const existing = await ctx.backend.stat(key, { signal: ctx.signal });
    if (existing === undefined || existing.size !== segment.size || (existing.crc32c !== undefined && existing.crc32c !== crc32c)) {
      throw new Error(`${key} is stored with other bytes (${existing?.size ?? 'no'} bytes); the staged segment is kept`);
    }
    return { entry: entry(crc32c), sent: false };
  } finally {
    tracker.end();
  }
}

async function hashFile(path: string): Promise<number> {
  let crc = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) crc = crc32cUpdate(crc, chunk as Buffer);
  return crc;
}

function bufferSource(body: Buffer): PutSource {
  return { size: body.length, open: (start = 0, end = body.length) => Readable.from([body.subarray(start, end)]), readAll: async () => body };
}

export const defaultStagingDir = (stateDir: string): string => join(stateDir, 'commitlog-staging');
