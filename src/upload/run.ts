// The upload engine: sends every file that is not already stored, with bounded concurrency, hashing the bytes
// on their way out, and returns the manifest entries. A file that fails is reported, never silently dropped.
import type { LocalFile } from '../domain.ts';
import type { Backend, PutSource } from '../storage/backend.ts';
import type { ManifestFile } from '../catalog/manifest.ts';
import { disambiguatedKey } from '../catalog/keys.ts';
import { fileIdentity, localFileIdentity, objectKeyFor, type Layout } from '../catalog/layouts.ts';
import { crc32cToBase64 } from '../checksum/crc32c.ts';
import type { Reporter } from '../report.ts';
import { decide, type StoredRecord } from './plan.ts';
import { hashingSource } from './hashing-source.ts';
import type { Journal } from './journal.ts';
import { forEachLimit } from './pool.ts';
import { isPermanent } from '../storage/retry.ts';

export interface UploadDeps {
  readonly backend: Backend;
  readonly reporter: Reporter;
  readonly openSource: (file: LocalFile) => PutSource;
  /** Reads a local file once and returns its CRC32C. */
  readonly hashFile: (file: LocalFile) => Promise<number>;
  /** Whether a local file still exists (to tell "vanished" from "failed"). */
  readonly exists: (absPath: string) => Promise<boolean>;
}

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
}

export interface UploadResult {
  readonly entries: ManifestFile[];
  readonly failures: string[];
  readonly vanished: string[];
  uploadedFiles: number;
  uploadedBytes: number;
  copiedFiles: number;
}

export async function uploadFiles(input: UploadInput, deps: UploadDeps): Promise<UploadResult> {
  const result: UploadResult = { entries: [], failures: [], vanished: [], uploadedFiles: 0, uploadedBytes: 0, copiedFiles: 0 };
  const stop = new AbortController();
  const signal = AbortSignal.any([input.signal, stop.signal]);
  const twins = identityIndex(input.referenced);
  await forEachLimit(input.files, input.concurrency, signal, async (file) => {
    try {
      const entry = await storeFile(file, input, deps, twins, signal);
      result.entries.push(entry);
      if (entry.copied) result.copiedFiles++;
      else if (!entry.reused) {
        result.uploadedFiles++;
        result.uploadedBytes += entry.size;
      }
    } catch (err) {
      const vanished = !(await deps.exists(file.absPath));
      recordFailure(file, err, vanished, input, deps, result);
      // A permanent error (no bucket, no permission) will fail every other file the same way.
      if (isPermanent(err)) stop.abort(err);
    }
  });
  return result;
}

function recordFailure(
  file: LocalFile, err: unknown, vanished: boolean, input: UploadInput, deps: UploadDeps, result: UploadResult,
): void {
  if (vanished && !input.vanishedIsFailure) {
    result.vanished.push(file.relPath);
    deps.reporter.emit({ type: 'warning', message: `${file.relPath} disappeared before upload; skipped` });
    return;
  }
  const message = vanished ? `file disappeared before upload` : errorMessage(err);
  result.failures.push(`${file.absPath}: ${message}`);
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

async function storeFile(
  file: LocalFile, input: UploadInput, deps: UploadDeps, twins: ReadonlyMap<string, StoredRecord>, signal: AbortSignal,
): Promise<ManifestFile> {
  const key = objectKeyFor(input.layout, input.nodeId, file.relPath);
  const decision = decide(file, key, input.referenced, input.journal.records());
  if (decision.action === 'reuse') {
    if (decision.from === 'manifest' || (await stillStored(decision.record, deps, signal))) return reuse(file, decision.record, input, deps);
    return send(file, key, input, deps, signal);
  }
  if (decision.action === 'upload') {
    const id = localFileIdentity(file);
    const twin = id === undefined ? undefined : twins.get(id);
    if (twin && twin.key !== key) return copyOrSend(file, twin, key, input, deps, signal);
    return send(file, decision.key, input, deps, signal);
  }
  // The key is referenced with other metadata: same bytes can be reused, different bytes get a new key.
  const crc = crc32cToBase64(await deps.hashFile(file));
  if (crc === decision.record.crc32c && file.size === decision.record.size) {
    return reuse(file, decision.record, input, deps);
  }
  const altKey = disambiguatedKey(key, Buffer.from(crc, 'base64').toString('hex'));
  const alt = input.referenced.get(altKey) ?? input.journal.records().get(altKey);
  if (alt && alt.crc32c === crc && alt.size === file.size) return reuse(file, alt, input, deps);
  return send(file, altKey, input, deps, signal);
}

async function stillStored(record: StoredRecord, deps: UploadDeps, signal: AbortSignal): Promise<boolean> {
  const info = await deps.backend.stat(record.key, { signal });
  return info !== undefined && info.size === record.size;
}

function reuse(file: LocalFile, record: StoredRecord, input: UploadInput, deps: UploadDeps): ManifestFile {
  deps.reporter.emit({ type: 'file', path: file.relPath, key: record.key, action: 'reused', bytes: 0 });
  return entryFor(file, input, { key: record.key, crc32c: record.crc32c, etag: record.etag, how: 'reused' });
}

/**
 * The same file (a hard link of it) is already stored under another key by an earlier backup: copy it
 * server-side instead of reading and sending it. If that object is gone (purged), send the file.
 */
async function copyOrSend(
  file: LocalFile, twin: StoredRecord, key: string, input: UploadInput, deps: UploadDeps, signal: AbortSignal,
): Promise<ManifestFile> {
  let info;
  try {
    info = await deps.backend.copy(twin.key, key, { signal, size: twin.size });
  } catch {
    // e.g. the source was purged meanwhile; sending the bytes is always correct (and reports real store errors)
    return send(file, key, input, deps, signal);
  }
  if (info.size !== file.size) return send(file, key, input, deps, signal);
  const record: StoredRecord = { key, path: file.relPath, size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, crc32c: twin.crc32c, etag: info.etag };
  await input.journal.append(record);
  deps.reporter.emit({ type: 'file', path: file.relPath, key, action: 'copied', bytes: 0 });
  return entryFor(file, input, { key, crc32c: twin.crc32c, etag: info.etag, how: 'copied' });
}


async function send(
  file: LocalFile, key: string, input: UploadInput, deps: UploadDeps, signal: AbortSignal,
): Promise<ManifestFile> {
  const source = hashingSource(deps.openSource(file));
  const info = await deps.backend.put(key, source, { signal });
  const crcValue = source.result();
  if (crcValue === undefined) throw new Error(`internal: the bytes sent for ${key} were not fully hashed`);
  const crc32c = crc32cToBase64(crcValue);
  if (info.crc32c !== undefined && info.crc32c !== crc32c) {
    throw new Error(`the store reports CRC32C ${info.crc32c} for ${key}, but ${crc32c} was sent`);
  }
  const record: StoredRecord = { key, path: file.relPath, size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, crc32c, etag: info.etag };
  await input.journal.append(record);
  deps.reporter.emit({ type: 'file', path: file.relPath, key, action: 'uploaded', bytes: file.size });
  return entryFor(file, input, { key, crc32c, etag: info.etag, how: 'uploaded' });
}

function entryFor(
  file: LocalFile, input: UploadInput,
  stored: { key: string; crc32c: string; etag: string | undefined; how: 'uploaded' | 'reused' | 'copied' },
): ManifestFile {
  const entry: ManifestFile = {
    path: file.relPath,
    dataDir: input.dataDirs.indexOf(file.dataDir),
    size: file.size,
    mtimeMs: file.mtimeMs,
    ino: file.ino,
    key: stored.key,
    crc32c: stored.crc32c,
    ...(stored.etag !== undefined ? { etag: stored.etag } : {}),
    ...(stored.how === 'reused' ? { reused: true } : {}),
    ...(stored.how === 'copied' ? { copied: true } : {}),
  };
  return entry;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
