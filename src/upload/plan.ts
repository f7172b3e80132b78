// Decides, per local file, whether its bytes must be sent. Pure: the catalog and journal arrive as maps.
// The rule (DESIGN section 5): an object that a manifest references is never overwritten with different
// content; an object no manifest references (left by a failed run) may be replaced.
import type { LocalFile } from '../domain.ts';
import type { StoredFacts } from '../catalog/manifest.ts';

/** What is known to be stored under a key. */
export interface StoredRecord {
  readonly key: string;
  /** The file's path relative to its data directory when it was stored (to find hard links of it later). */
  readonly path?: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /** The file's (plaintext) CRC32C; with `stored`, the object holds the file encrypted. */
  readonly crc32c: string;
  readonly etag?: string;
  /** The encrypted object's own size and CRC32C (client-side encryption); absent: the object is the file's bytes. */
  readonly stored?: StoredFacts;
}

export type Decision =
  /**
   * Same file as recorded (size, mtime, inode): store nothing, read nothing. Whether from a manifest or from the
   * journal (an unfinished run), the object is confirmed in the store with the others before the manifest is written.
   */
  | { readonly action: 'reuse'; readonly record: StoredRecord; readonly from: 'manifest' | 'journal' }
  /** Key free, or held only by an unreferenced object: send the bytes. */
  | { readonly action: 'upload'; readonly key: string }
  /** A manifest references the key with possibly different bytes: hash first, then reuse or disambiguate. */
  | { readonly action: 'compare'; readonly key: string; readonly record: StoredRecord };

export function sameFile(file: LocalFile, record: StoredRecord): boolean {
  return file.size === record.size && file.mtimeMs === record.mtimeMs && file.ino === record.ino;
}

export function decide(
  file: LocalFile,
  key: string,
  referenced: ReadonlyMap<string, StoredRecord>,
  journal: ReadonlyMap<string, StoredRecord>,
): Decision {
  const byManifest = referenced.get(key);
  if (byManifest) {
    return sameFile(file, byManifest) ? { action: 'reuse', record: byManifest, from: 'manifest' } : { action: 'compare', key, record: byManifest };
  }
  const byJournal = journal.get(key);
  if (byJournal && sameFile(file, byJournal)) return { action: 'reuse', record: byJournal, from: 'journal' };
  return { action: 'upload', key };
}
