// Whether a stored object still holds the bytes a manifest recorded: from the store's metadata (cheap), or by
// downloading and re-hashing it (deep).
import { Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Backend, ObjectInfo } from '../storage/backend.ts';
import { Crc32cStream, crc32cToBase64 } from '../checksum/crc32c.ts';
import type { ManifestFile, StoredFacts } from './manifest.ts';

/** How far a check could go: the strongest evidence the store offered for this object. */
export type CheckMethod = 'crc32c' | 'etag' | 'size' | 'download';

/** `checksum` covers a differing CRC32C or ETag: with --deep, the downloaded bytes settle it. */
export type ProblemKind = 'missing' | 'size' | 'checksum' | 'error';

export type CheckOutcome =
  | { readonly ok: true; readonly method: CheckMethod }
  | { readonly ok: false; readonly kind: ProblemKind; readonly problem: string };

/** What a reference to a stored object promises: the fields of a manifest entry that describe the bytes. */
export type StoredRef = Pick<ManifestFile, 'key' | 'path' | 'size' | 'crc32c' | 'etag' | 'stored'>;

/** The stored object's size and CRC32C: the file's own, unless the object holds it encrypted. */
export function storedFacts(ref: StoredRef): StoredFacts {
  return ref.stored ?? { size: ref.size, crc32c: ref.crc32c };
}

/** Existence, size, and the store's own checksum (GCS/local CRC32C) or identity (S3 ETag) where it has one. */
export async function checkMetadata(backend: Backend, file: StoredRef, signal?: AbortSignal): Promise<CheckOutcome> {
  return compareWithStored(file, await backend.stat(file.key, { signal }));
}

/**
 * The one rule for "this object is what the reference says": present, same size, and the same CRC32C where the
 * store reports one, else the same ETag where both have one; size alone only for a store that offers nothing more.
 */
export function compareWithStored(file: StoredRef, info: ObjectInfo | undefined): CheckOutcome {
  if (info === undefined) return fail(file, 'missing', 'missing: the object does not exist');
  const want = storedFacts(file);
  if (info.size !== want.size) return fail(file, 'size', `size: recorded ${want.size} bytes, stored ${info.size}`);
  if (info.crc32c !== undefined && want.crc32c !== undefined) {
    return info.crc32c === want.crc32c
      ? { ok: true, method: 'crc32c' }
      : fail(file, 'checksum', `checksum: recorded crc32c ${want.crc32c}, stored ${info.crc32c}`);
  }
  // Without a CRC, the ETag is the store's identity of the bytes: a changed ETag means the object was replaced.
  if (info.etag !== undefined && file.etag !== undefined) {
    return info.etag === file.etag ? { ok: true, method: 'etag' } : fail(file, 'checksum', `etag: recorded ${file.etag}, stored ${info.etag}`);
  }
  return { ok: true, method: 'size' };
}

/**
 * Downloads the object (streaming, nothing kept) and compares its length and CRC32C with the manifest.
 * `onBytes` is told of the bytes as they arrive (live progress). An encrypted object's stored bytes are checked
 * against its stored facts; with `decrypt` (a stage from the identities) it is also decrypted, which
 * authenticates every chunk, and the plaintext's length and CRC32C are checked against the file's.
 */
export async function checkContent(
  backend: Backend, file: StoredRef, signal?: AbortSignal, onBytes?: (bytes: number) => void, decrypt?: () => Duplex,
): Promise<CheckOutcome> {
  const stored = new Crc32cStream();
  const plain = file.stored !== undefined && decrypt !== undefined ? new Crc32cStream() : undefined;
  (plain ?? stored).on('data', (chunk: Buffer) => onBytes?.(chunk.length));
  try {
    await pipeline([await backend.get(file.key, { signal }), stored, ...(plain ? [decrypt!(), plain] : []), discard()], { signal });
  } catch (err) {
    if (plain === undefined || signal?.aborted) throw err;
    return fail(file, 'checksum', `decryption failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const want = storedFacts(file);
  if (stored.bytes !== want.size) return fail(file, 'size', `size: recorded ${want.size} bytes, downloaded ${stored.bytes}`);
  const crc = crc32cToBase64(stored.crc);
  if (want.crc32c !== undefined && crc !== want.crc32c) return fail(file, 'checksum', `checksum: recorded crc32c ${want.crc32c}, downloaded ${crc}`);
  if (plain === undefined) return { ok: true, method: 'download' };
  if (plain.bytes !== file.size) return fail(file, 'size', `size: recorded ${file.size} bytes, decrypted ${plain.bytes}`);
  const plainCrc = crc32cToBase64(plain.crc);
  return plainCrc === file.crc32c ? { ok: true, method: 'download' }
    : fail(file, 'checksum', `checksum: recorded crc32c ${file.crc32c}, decrypted ${plainCrc}`);
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

export function fail(file: StoredRef, kind: ProblemKind, what: string): CheckOutcome {
  return { ok: false, kind, problem: describeFile(file, what) };
}

export function describeFile(file: StoredRef, what: string): string {
  return file.key.endsWith(file.path) ? `${file.key}: ${what}` : `${file.key} (${file.path}): ${what}`;
}
