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

/** Rejects relative paths that could escape a root: absolute, `..`, empty segments, NUL, backslashes. */
export function assertSafeRelativePath(path: string): void {
  const bad =
    path === '' || path.startsWith('/') || path.includes('\0') || path.includes('\\') ||
    path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..');
  if (bad) throw new UnsafePathError(`unsafe path in backup catalog: ${JSON.stringify(path)}`);
}
