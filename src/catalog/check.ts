// Whether a stored object still holds the bytes a manifest recorded: from the store's metadata (cheap), or by
// downloading and re-hashing it (deep).
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Backend, ObjectInfo } from '../storage/backend.ts';
import { Crc32cStream, crc32cToBase64 } from '../checksum/crc32c.ts';
import type { ManifestFile } from './manifest.ts';

/** How far a check could go: the strongest evidence the store offered for this object. */
export type CheckMethod = 'crc32c' | 'etag' | 'size' | 'download';

/** `checksum` covers a differing CRC32C or ETag: with --deep, the downloaded bytes settle it. */
export type ProblemKind = 'missing' | 'size' | 'checksum' | 'error';

export type CheckOutcome =
  | { readonly ok: true; readonly method: CheckMethod }
  | { readonly ok: false; readonly kind: ProblemKind; readonly problem: string };

/** What a reference to a stored object promises: the fields of a manifest entry that describe the bytes. */
export type StoredRef = Pick<ManifestFile, 'key' | 'path' | 'size' | 'crc32c' | 'etag'>;

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
  if (info.size !== file.size) return fail(file, 'size', `size: recorded ${file.size} bytes, stored ${info.size}`);
  if (info.crc32c !== undefined) {
    return info.crc32c === file.crc32c
      ? { ok: true, method: 'crc32c' }
      : fail(file, 'checksum', `checksum: recorded crc32c ${file.crc32c}, stored ${info.crc32c}`);
  }
  // Without a CRC, the ETag is the store's identity of the bytes: a changed ETag means the object was replaced.
  if (info.etag !== undefined && file.etag !== undefined) {
    return info.etag === file.etag ? { ok: true, method: 'etag' } : fail(file, 'checksum', `etag: recorded ${file.etag}, stored ${info.etag}`);
  }
  return { ok: true, method: 'size' };
}

/**
 * Downloads the object (streaming, nothing kept) and compares its length and CRC32C with the manifest.
 * `onBytes` is told of the bytes as they arrive (live progress).
 */
export async function checkContent(
  backend: Backend, file: StoredRef, signal?: AbortSignal, onBytes?: (bytes: number) => void,
): Promise<CheckOutcome> {
  const hasher = new Crc32cStream();
  if (onBytes) hasher.on('data', (chunk: Buffer) => onBytes(chunk.length));
  await pipeline(await backend.get(file.key, { signal }), hasher, discard(), { signal });
  if (hasher.bytes !== file.size) return fail(file, 'size', `size: recorded ${file.size} bytes, downloaded ${hasher.bytes}`);
  const crc = crc32cToBase64(hasher.crc);
  return crc === file.crc32c ? { ok: true, method: 'download' } : fail(file, 'checksum', `checksum: recorded crc32c ${file.crc32c}, downloaded ${crc}`);
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
