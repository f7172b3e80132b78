// One restored file: streamed from the store into a temp file beside its target while its CRC32C is computed,
// then renamed into place only when length and checksum match the manifest. Memory per file is one stream's
// buffers, whatever the file size.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Duplex } from 'node:stream';
import type { Backend } from '../storage/backend.ts';
import { Crc32cStream, crc32cToBase64, crc32cUpdate } from '../checksum/crc32c.ts';
import type { ManifestFile } from '../catalog/manifest.ts';
import { assertReplaceable, ensureParents, insideRoot } from './target-dir.ts';

const TEMP_MARK = '.cbr-restore-';

export type Written = 'written' | 'present';

export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
}

export interface DownloadTarget {
  readonly root: string;
  /** Relative to root, POSIX. */
  readonly target: string;
  readonly file: ManifestFile;
}

/**
 * Writes one file; with `reuse`, a file already there with the recorded size and CRC32C is kept as it is.
 * `onBytes` is told of the downloaded bytes as they arrive (live progress).
 */
export async function restoreFile(
  backend: Backend, t: DownloadTarget, reuse: boolean, signal?: AbortSignal, onBytes?: (bytes: number) => void, decrypt?: DecryptStage,
): Promise<Written> {
  const path = insideRoot(t.root, t.target);
  const relDir = t.target.split('/').slice(0, -1).join('/');
  if (relDir !== '') await ensureParents(t.root, relDir);
  await assertReplaceable(t.root, path);
  if (reuse && (await alreadyThere(path, t.file, signal))) return 'present';
  const tmp = join(dirname(path), `.${basename(path)}${TEMP_MARK}${randomUUID()}`);
  try {
    await download(backend, t.file, tmp, signal, onBytes, decrypt);
    // Cassandra does not need it, but the original mtime keeps `ls -lt` and later comparisons meaningful.
    const mtime = new Date(t.file.mtimeMs);
    await utimes(tmp, mtime, mtime);
    await assertReplaceable(t.root, path); // checked again just before the rename
    await rename(tmp, path);
    return 'written';
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A fresh decrypting stream per object (client-side encryption), from the identities the operator gave. */
export type DecryptStage = () => Duplex;

async function download(
  backend: Backend, file: ManifestFile, tmp: string, signal?: AbortSignal, onBytes?: (bytes: number) => void, decrypt?: DecryptStage,
): Promise<void> {
  const hasher = new Crc32cStream();
  if (onBytes) hasher.on('data', (chunk: Buffer) => onBytes(chunk.length));
  // An encrypted object is decrypted (each chunk authenticated) before its plaintext is hashed and written.
  if (file.stored !== undefined && decrypt === undefined) throw new Error(`internal: ${file.key} is encrypted and no identity was given`);
  const decrypting = file.stored !== undefined && decrypt !== undefined ? [decrypt()] : [];
  // `wx`: the temp name is fresh; never write through something that appeared under it.
  await pipeline([await backend.get(file.key, { signal }), ...decrypting, hasher, createWriteStream(tmp, { flags: 'wx' })], { signal });
  if (hasher.bytes !== file.size) {
    throw new ChecksumMismatchError(`${file.key}: recorded ${file.size} bytes, downloaded ${hasher.bytes}`);
  }
  const crc = crc32cToBase64(hasher.crc);
  if (crc !== file.crc32c) throw new ChecksumMismatchError(`${file.key}: recorded crc32c ${file.crc32c}, downloaded ${crc}`);
}

async function alreadyThere(path: string, file: ManifestFile, signal?: AbortSignal): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (st === undefined || !st.isFile() || st.size !== file.size) return false;
  let crc = 0;
  for await (const chunk of createReadStream(path, { signal })) crc = crc32cUpdate(crc, chunk as Buffer);
  return crc32cToBase64(crc) === file.crc32c;
}
