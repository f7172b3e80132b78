// Whether a stored object still holds the bytes a manifest recorded: from the store's metadata (cheap), or by
// downloading and re-hashing it (deep).
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Backend } from '../storage/backend.ts';
import { Crc32cStream, crc32cToBase64 } from '../checksum/crc32c.ts';
import type { ManifestFile } from './manifest.ts';

/** How far a check could go: the strongest evidence the store offered for this object. */
export type CheckMethod = 'crc32c' | 'etag' | 'size' | 'download';

/** `checksum` covers a differing CRC32C or ETag: with --deep, the downloaded bytes settle it. */
export type ProblemKind = 'missing' | 'size' | 'checksum' | 'error';

export type CheckOutcome =
  | { readonly ok: true; readonly method: CheckMethod }
  | { readonly ok: false; readonly kind: ProblemKind; readonly problem: string };

/** Existence, size, and the store's own checksum (GCS/local CRC32C) or identity (S3 ETag) where it has one. */
export async function checkMetadata(backend: Backend, file: ManifestFile, signal?: AbortSignal): Promise<CheckOutcome> {
  const info = await backend.stat(file.key, { signal });
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

/** Downloads the object (streaming, nothing kept) and compares its length and CRC32C with the manifest. */
export async function checkContent(backend: Backend, file: ManifestFile, signal?: AbortSignal): Promise<CheckOutcome> {
  const hasher = new Crc32cStream();
  await pipeline(await backend.get(file.key, { signal }), hasher, discard(), { signal });
  if (hasher.bytes !== file.size) return fail(file, 'size', `size: recorded ${file.size} bytes, downloaded ${hasher.bytes}`);
  const crc = crc32cToBase64(hasher.crc);
  return crc === file.crc32c ? { ok: true, method: 'download' } : fail(file, 'checksum', `checksum: recorded crc32c ${file.crc32c}, downloaded ${crc}`);
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

export function fail(file: ManifestFile, kind: ProblemKind, what: string): CheckOutcome {
  return { ok: false, kind, problem: describeFile(file, what) };
}

export function describeFile(file: ManifestFile, what: string): string {
  return file.key.endsWith(file.path) ? `${file.key}: ${what}` : `${file.key} (${file.path}): ${what}`;
}
