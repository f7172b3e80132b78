// Stores one enumerated file: reuses what an earlier backup stored (same file), copies a hard link of a stored file
// server-side, or sends the bytes, hashing them on their way out. Returns the file's manifest entry.
// Reused objects are confirmed later, all at once (run.ts); a key that backups share is written create-only.
import type { LocalFile } from '../domain.ts';
import type { Backend, PutSource } from '../storage/backend.ts';
import { isAlreadyExists } from '../storage/backend.ts';
import type { ManifestFile } from '../catalog/manifest.ts';
import { disambiguatedKey, isDisambiguatedKey } from '../catalog/keys.ts';
import { isCreateOnlyKey, localFileIdentity, objectKeyFor, type Layout } from '../catalog/layouts.ts';
import { crc32cToBase64 } from '../checksum/crc32c.ts';
import { trackFile, type FileAction, type Reporter } from '../report.ts';
import { decide, type StoredRecord } from './plan.ts';
import { hashingSource } from './hashing-source.ts';
import type { Journal } from './journal.ts';
import { recipientSetOfKey, type ObjectEncryption } from '../crypto/object-encryption.ts';
import type { SealedSource } from '../crypto/encrypting-source.ts';

export interface UploadDeps {
  readonly backend: Backend;
  readonly reporter: Reporter;
  readonly openSource: (file: LocalFile) => PutSource;
  /** Reads a local file once and returns its CRC32C. */
  readonly hashFile: (file: LocalFile) => Promise<number>;
  /** Whether a local file still exists (to tell "vanished" from "failed"). */
  readonly exists: (absPath: string) => Promise<boolean>;
}

/** What storing a file needs besides the file: where, what is known to be stored, and the journal. */
export interface StoreContext {
  readonly nodeId: string;
  readonly layout: Layout;
  readonly dataDirs: readonly string[];
  readonly referenced: ReadonlyMap<string, StoredRecord>;
  /** Stored files by identity (table-relative path, size, mtime, inode): finds hard links of what is stored. */
  readonly twins: ReadonlyMap<string, StoredRecord>;
  readonly journal: Journal;
  readonly deps: UploadDeps;
  readonly signal: AbortSignal;
  /**
   * Client-side encryption of every object this run stores. Encrypted objects have keys of their own (per
   * recipient set), so a run reuses or copies only objects sealed to its own recipients, never plain ones, and
   * an unencrypted run never takes an encrypted object for a file.
   */
  readonly encryption?: ObjectEncryption;
}

/** Whether the object under key holds bytes as this run would store them (plain, or sealed to its recipients). */
function sameNamespace(key: string, c: StoreContext): boolean {
  return c.encryption ? c.encryption.owns(key) : recipientSetOfKey(key) === undefined;
}

export async function storeFile(file: LocalFile, c: StoreContext): Promise<ManifestFile> {
  const plainKey = objectKeyFor(c.layout, c.nodeId, file.relPath);
  const key = c.encryption ? c.encryption.keyFor(plainKey) : plainKey;
  const decision = decide(file, key, c.referenced, c.journal.records());
  if (decision.action === 'reuse') return reuse(file, decision.record, c);
  if (decision.action === 'upload') {
    const id = localFileIdentity(file);
    const twin = id === undefined ? undefined : c.twins.get(id);
    if (twin && twin.key !== key && sameNamespace(twin.key, c)) return copyOrSend(file, twin, key, c);
    return send(file, decision.key, c);
  }
  // The key is referenced with other metadata: same bytes can be reused, different bytes get a new key.
  const crc = crc32cToBase64(await c.deps.hashFile(file));
  if (crc === decision.record.crc32c && file.size === decision.record.size) return reuse(file, decision.record, c);
  const altKey = disambiguatedKey(key, crcHex(crc));
  const alt = c.referenced.get(altKey) ?? c.journal.records().get(altKey);
  if (alt && alt.crc32c === crc && alt.size === file.size) return reuse(file, alt, c);
  return send(file, altKey, c);
}

/** Sends the bytes again: to the same key when the object is gone, to a new key when another object holds it. */
export async function resend(file: LocalFile, key: string, occupied: boolean, c: StoreContext): Promise<ManifestFile> {
  if (!occupied) return send(file, key, c, true);
  const crc = crc32cToBase64(await c.deps.hashFile(file));
  return send(file, isDisambiguatedKey(key) ? key : disambiguatedKey(key, crcHex(crc)), c, true);
}

/**
 * The file is finished: its `file` event. `again`: it was counted as reused before its object was found missing
 * (run.ts confirms reused objects after storing), so it must not be counted twice.
 */
function finished(file: LocalFile, key: string, action: FileAction, c: StoreContext, again: boolean): void {
  c.deps.reporter.emit({ type: 'file', path: file.relPath, key, action, bytes: action === 'uploaded' ? file.size : 0, size: file.size,
    ...(again ? { resent: true as const } : {}) });
}

function crcHex(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

function reuse(file: LocalFile, record: StoredRecord, c: StoreContext, again = false): ManifestFile {
  finished(file, record.key, 'reused', c, again);
  return entryFor(file, c, { key: record.key, crc32c: record.crc32c, etag: record.etag, stored: record.stored, how: 'reused' });
}

/**
 * The same file (a hard link of it) is already stored under another key by an earlier backup: copy it
 * server-side instead of reading and sending it. If that object is gone (purged), send the file.
 */
async function copyOrSend(file: LocalFile, twin: StoredRecord, key: string, c: StoreContext): Promise<ManifestFile> {
  let info;
  const tracker = trackFile(c.deps.reporter, file.relPath, file.size); // in flight, though no bytes pass through here
  try {
    info = await c.deps.backend.copy(twin.key, key, { signal: c.signal, size: twin.size });
  } catch {
    // e.g. the source was purged meanwhile; sending the bytes is always correct (and reports real store errors)
    return send(file, key, c);
  } finally {
    tracker.end();
  }
  if (info.size !== (twin.stored?.size ?? file.size)) return send(file, key, c);
  const record: StoredRecord = { key, path: file.relPath, size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, crc32c: twin.crc32c, etag: info.etag,
    ...(twin.stored ? { stored: twin.stored } : {}) };
  await c.journal.append(record);
  finished(file, key, 'copied', c, false);
  return entryFor(file, c, { key, crc32c: twin.crc32c, etag: info.etag, stored: twin.stored, how: 'copied' });
}

async function send(file: LocalFile, key: string, c: StoreContext, again = false): Promise<ManifestFile> {
  const createOnly = isCreateOnlyKey(c.nodeId, key);
  // Counted as they reach the store, so that a large file shows progress long before it is finished; an encrypted
  // file's progress counts its plaintext bytes as they are sealed.
  const tracker = trackFile(c.deps.reporter, file.relPath, file.size);
  try {
    const plain = c.deps.openSource(file);
    // One file key per send: every range and retry of this put reads the same ciphertext.
    const sealed = c.encryption ? await c.encryption.seal(plain, (n) => tracker.add(n)) : undefined;
    const source = hashingSource(sealed ?? plain);
    let info;
    try {
      info = await c.deps.backend.put(key, source, { signal: c.signal, createOnly, ...(sealed ? {} : { onBytes: (n: number) => tracker.add(n) }) });
    } catch (err) {
      if (!createOnly || !isAlreadyExists(err)) throw err;
      tracker.end();
      return await settleLostRace(file, key, c, again);
    }
    const storedCrc = source.result();
    const plainCrc = sealed ? sealed.plaintextCrc32c() : storedCrc;
    if (storedCrc === undefined || plainCrc === undefined) throw new Error(`internal: the bytes sent for ${key} were not fully hashed`);
    const sentCrc = crc32cToBase64(storedCrc);
    if (info.crc32c !== undefined && info.crc32c !== sentCrc) {
      throw new Error(`the store reports CRC32C ${info.crc32c} for ${key}, but ${sentCrc} was sent`);
    }
    const crc32c = crc32cToBase64(plainCrc);
    const stored = sealed ? storedOf(sealed, sentCrc) : undefined;
    const record: StoredRecord = { key, path: file.relPath, size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, crc32c, etag: info.etag,
      ...(stored ? { stored } : {}) };
    await c.journal.append(record);
    finished(file, key, 'uploaded', c, again);
    return entryFor(file, c, { key, crc32c, etag: info.etag, stored, how: 'uploaded' });
  } finally {
    tracker.end();
  }
}

function storedOf(sealed: SealedSource, crc32c: string): { size: number; crc32c: string } {
  return { size: sealed.size, crc32c };
}

/**
 * Another writer created the key first. Its object is reused when the store shows the same bytes (size and
 * CRC32C); a `…@<crc32c>` key of the right size holds them by construction; otherwise ours go under such a key.
 */
async function settleLostRace(file: LocalFile, key: string, c: StoreContext, again: boolean): Promise<ManifestFile> {
  const crc = crc32cToBase64(await c.deps.hashFile(file));
  const existing = await c.deps.backend.stat(key, { signal: c.signal });
  // An encrypted object's plaintext cannot be seen here (the node has no identity): only a `…@<crc32c>` key of the
  // encrypted size, in this run's recipient namespace, holds this file by construction.
  const same = existing !== undefined && (c.encryption
    ? existing.size === c.encryption.storedSize(file.size) && isDisambiguatedKey(key)
    : existing.size === file.size && (existing.crc32c === crc || (existing.crc32c === undefined && isDisambiguatedKey(key))));
  if (same) {
    const record: StoredRecord = { key, path: file.relPath, size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, crc32c: crc, etag: existing.etag,
      ...(c.encryption ? { stored: { size: existing.size, ...(existing.crc32c === undefined ? {} : { crc32c: existing.crc32c }) } } : {}) };
    await c.journal.append(record);
    return reuse(file, record, c, again);
  }
  if (isDisambiguatedKey(key)) throw new Error(`${key} exists with other bytes than ${file.absPath} (${existing?.size ?? 'no'} bytes stored)`);
  return send(file, disambiguatedKey(key, crcHex(crc)), c, again);
}

function entryFor(
  file: LocalFile, c: StoreContext,
  stored: { key: string; crc32c: string; etag: string | undefined; stored?: StoredRecord['stored']; how: 'uploaded' | 'reused' | 'copied' },
): ManifestFile {
  return {
    path: file.relPath,
    dataDir: c.dataDirs.indexOf(file.dataDir),
    size: file.size,
    mtimeMs: file.mtimeMs,
    ino: file.ino,
    key: stored.key,
    crc32c: stored.crc32c,
    ...(stored.etag !== undefined ? { etag: stored.etag } : {}),
    ...(stored.stored !== undefined ? { stored: stored.stored } : {}),
    ...(stored.how === 'reused' ? { reused: true } : {}),
    ...(stored.how === 'copied' ? { copied: true } : {}),
  };
}
