// The upload engine: sends every file that is not already stored, with bounded concurrency, hashing the bytes
// on their way out, and returns the manifest entries. A file that fails is reported, never silently dropped.
// Objects reused from earlier backups (or from an earlier attempt's journal) are then confirmed in the store, in
// bulk: the bucket is shared, and a purge elsewhere, a lifecycle rule or an operator may have removed them.
import type { LocalFile } from '../domain.ts';
import type { ManifestFile } from '../catalog/manifest.ts';
import { fileIdentity, type Layout } from '../catalog/layouts.ts';
import { confirmInStore } from '../catalog/confirm.ts';
import type { StoredRecord } from './plan.ts';
import type { Journal } from './journal.ts';
import { forEachLimit } from './pool.ts';
import { stopsTheRun } from '../storage/failure-kind.ts';
import { resend, storeFile, type StoreContext, type UploadDeps } from './store-file.ts';
import { endTransfer } from '../report.ts';
import type { ObjectEncryption } from '../crypto/object-encryption.ts';

export type { UploadDeps } from './store-file.ts';

export interface UploadInput {
  readonly files: readonly LocalFile[];
  readonly nodeId: string;
  readonly layout: Layout;
  readonly dataDirs: readonly string[];
  readonly referenced: ReadonlyMap<string, StoredRecord>;
  readonly journal: Journal;
  readonly concurrency: number;
  readonly signal: AbortSignal;
  /** Incremental runs skip files that vanish before upload (the operator may prune backups/); snapshots fail. */
  readonly vanishedIsFailure: boolean;
  /** Client-side encryption of every object stored (store-file.ts); absent: objects are the files' bytes. */
  readonly encryption?: ObjectEncryption;
}

export interface UploadResult {
  /** One per stored file, every one confirmed in the store: by this run's write, or by the listing afterwards. */
  readonly entries: ManifestFile[];
  readonly failures: string[];
  readonly vanished: string[];
  uploadedFiles: number;
  uploadedBytes: number;
  copiedFiles: number;
  /** Reused objects the store no longer held as recorded, sent again. */
  resentFiles: number;
}

export async function uploadFiles(input: UploadInput, deps: UploadDeps): Promise<UploadResult> {
  const result: UploadResult = { entries: [], failures: [], vanished: [], uploadedFiles: 0, uploadedBytes: 0, copiedFiles: 0, resentFiles: 0 };
  const stop = new AbortController();
  const signal = AbortSignal.any([input.signal, stop.signal]);
  const c: StoreContext = {
    nodeId: input.nodeId, layout: input.layout, dataDirs: input.dataDirs, referenced: input.referenced,
    twins: identityIndex(input.referenced), journal: input.journal, deps, signal,
    ...(input.encryption ? { encryption: input.encryption } : {}),
  };
  // A permanent error (no bucket, no permission) will fail every other file the same way.
  const onFailure = (err: unknown): void => { if (stopsTheRun(err)) stop.abort(err); };
  try {
    await forEachLimit(input.files, input.concurrency, signal, async (file) => {
      try {
        count(result, await storeFile(file, c));
      } catch (err) {
        await recordFailure(file, err, input, deps, result);
        onFailure(err);
      }
    });
    if (!signal.aborted) await confirmReused(result, input, c, onFailure);
  } finally {
    endTransfer(deps.reporter); // every byte this backup moves is moved by now, whatever the outcome
  }
  return result;
}

function count(result: UploadResult, entry: ManifestFile): void {
  result.entries.push(entry);
  if (entry.copied) result.copiedFiles++;
  else if (!entry.reused) {
    result.uploadedFiles++;
    result.uploadedBytes += entry.size;
  }
}

async function recordFailure(file: LocalFile, err: unknown, input: UploadInput, deps: UploadDeps, result: UploadResult): Promise<void> {
  const vanished = !(await deps.exists(file.absPath));
  if (vanished && !input.vanishedIsFailure) {
    result.vanished.push(file.relPath);
    deps.reporter.emit({ type: 'warning', message: `${file.relPath} disappeared before upload; skipped` });
    return;
  }
  const message = vanished ? `file disappeared before upload` : errorMessage(err);
  result.failures.push(`${file.absPath}: ${message}`);
}

/**
 * Every reused entry is checked against one listing per directory; what the store lacks, or holds with other
 * bytes, is sent again from the local file (which is still there: snapshots are cleared and backups/ files
 * removed only after the manifest is written). What cannot be sent again is a failure like any other.
 */
async function confirmReused(result: UploadResult, input: UploadInput, c: StoreContext, onFailure: (err: unknown) => void): Promise<void> {
  const reused = result.entries.filter((e) => e.reused === true);
  if (reused.length === 0) return;
  const started = performance.now();
  const { unconfirmed: bad, listings } = await confirmInStore(c.deps.backend, reused, { concurrency: input.concurrency, signal: c.signal });
  c.deps.reporter.emit({ type: 'info', message: `confirmed ${reused.length - bad.length} of ${reused.length} reused object(s) in the store ` +
    `(${listings} listing(s), ${((performance.now() - started) / 1000).toFixed(2)} s)` });
  if (bad.length === 0) return;
  c.deps.reporter.emit({ type: 'warning', message: `${bad.length} object(s) this backup reuses are not in the store as recorded ` +
    `(first: ${bad[0]?.problem}); sending them again` });
  const files = new Map(input.files.map((f) => [f.relPath, f]));
  const replacements = new Map<ManifestFile, ManifestFile | undefined>();
  await forEachLimit(bad, input.concurrency, c.signal, async ({ ref, found }) => {
    const file = files.get(ref.path);
    try {
      if (file === undefined) throw new Error(`internal: ${ref.path} is not among the enumerated files`);
      replacements.set(ref, await resend(file, ref.key, found !== undefined, c));
      result.resentFiles++;
    } catch (err) {
      replacements.set(ref, undefined);
      if (file !== undefined) await recordFailure(file, err, input, c.deps, result);
      else result.failures.push(`${ref.path}: ${errorMessage(err)}`);
      onFailure(err);
    }
  });
  const kept = result.entries.filter((e) => !replacements.has(e));
  result.entries.length = 0;
  result.entries.push(...kept);
  for (const entry of replacements.values()) if (entry !== undefined) count(result, entry);
}

/** Stored files by identity (table-relative path, size, mtime, inode): finds hard links of what is stored. */
function identityIndex(referenced: ReadonlyMap<string, StoredRecord>): Map<string, StoredRecord> {
  const out = new Map<string, StoredRecord>();
  for (const r of referenced.values()) {
    const id = r.path === undefined ? undefined : fileIdentity(r.path, r.size, r.mtimeMs, r.ino);
    if (id !== undefined) out.set(id, r);
  }
  return out;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
