// Where things live in the destination (DESIGN section 5). Pure.
import { UnsafePathError } from '../errors.ts';

/** The catalog sits under a name that cannot be a keyspace (leading dot). */
export const CATALOG_DIR = '.cass-backup-run';

export function dataKey(nodeId: string, relPath: string): string {
  return `${nodeId}/${relPath}`;
}

export function manifestsPrefix(nodeId: string): string {
  return `${nodeId}/${CATALOG_DIR}/manifests/`;
}

export function manifestKey(nodeId: string, tag: string): string {
  return `${manifestsPrefix(nodeId)}${tag}.json`;
}

/** The tag of a manifest key, or undefined when the key is not one. */
export function tagOfManifestKey(nodeId: string, key: string): string | undefined {
  const prefix = manifestsPrefix(nodeId);
  if (!key.startsWith(prefix) || !key.endsWith('.json')) return undefined;
  const tag = key.slice(prefix.length, -'.json'.length);
  return tag.includes('/') || tag === '' ? undefined : tag;
}

/** A key for bytes that differ from what a manifest already references under the plain key. */
export function disambiguatedKey(key: string, crc32cHex: string): string {
  return `${key}@${crc32cHex}`;
}

export function isDisambiguatedKey(key: string): boolean {
  return /@[0-9a-f]{8}$/.test(key);
}

/**
 * The one path rule (DESIGN section 10), applied by the writer before a file is uploaded and by every reader of a
 * manifest: why a relative POSIX path cannot be in the catalog, or undefined when it can. It refuses what could
 * escape a root (absolute, `..`, empty or `.` segments), NUL and control characters (object stores and listings
 * mangle them; file globs skip line breaks), and U+FFFD, which is what a file name that is not UTF-8 decodes to (the name on disk cannot be
 * recovered from it). A backslash is an ordinary character of a Linux file name and is allowed.
 */
export function relativePathProblem(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.startsWith('/')) return 'is absolute';
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) return 'has an empty, "." or ".." segment';
  if (/[\u0000-\u001f\u007f\u2028\u2029]/.test(path)) return 'contains a control character or line break';
  if (path.includes('\ufffd')) return 'is not valid UTF-8';
  return undefined;
}

export function assertSafeRelativePath(path: string): void {
  const problem = relativePathProblem(path);
  if (problem !== undefined) throw new UnsafePathError(`unsafe path in backup catalog: ${JSON.stringify(path)} ${problem}`);
}

/** Small records of what `list` shows of each manifest (summary-record.ts), beside the manifests. */
export function summariesPrefix(nodeId: string): string {
  return `${nodeId}/${CATALOG_DIR}/summaries/`;
}

export function summaryKey(nodeId: string, tag: string): string {
  return `${summariesPrefix(nodeId)}${tag}.json`;
}
