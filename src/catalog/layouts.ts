// The two bucket layouts (DESIGN section 5). Pure.
//   seed:  <node>/<path relative to the data directory>, as the old tool wrote; a snapshot can be restored by
//          hand with a recursive copy. Unchanged files of a later snapshot are copied server-side.
//   dedup: <node>/.sstables/<ks>/<table-dir>/[.<index>/]<file>: each distinct SSTable file stored once per node,
//          referenced by every manifest (snapshot or incremental) that contains it.
import { tableRelativePath } from '../cassandra/layout.ts';
import type { LocalFile } from '../domain.ts';
import { dataKey, isDisambiguatedKey } from './keys.ts';

export type Layout = 'seed' | 'dedup';

export const LAYOUTS: readonly Layout[] = ['seed', 'dedup'];

/** Under a name that cannot be a keyspace, beside the catalog. */
export const SSTABLES_DIR = '.sstables';

export function objectKeyFor(layout: Layout, nodeId: string, relPath: string): string {
  if (layout === 'seed') return dataKey(nodeId, relPath);
  const inTable = tableRelativePath(relPath);
  return inTable === undefined ? dataKey(nodeId, relPath) : `${nodeId}/${SSTABLES_DIR}/${inTable}`;
}

/** Same SSTable file (a hard link of it) wherever it was found: table-relative path, size, mtime, inode. */
export function fileIdentity(path: string, size: number, mtimeMs: number, ino: number): string | undefined {
  const inTable = tableRelativePath(path);
  return inTable === undefined ? undefined : `${inTable}\0${size}\0${mtimeMs}\0${ino}`;
}

export function localFileIdentity(file: LocalFile): string | undefined {
  return fileIdentity(file.relPath, file.size, file.mtimeMs, file.ino);
}

/**
 * Keys that several backups share by design (the dedup layout's objects) or whose name asserts their content
 * (`…@<crc32c>`): written create-only, so two writers never replace each other's bytes.
 */
export function isCreateOnlyKey(nodeId: string, key: string): boolean {
  return key.startsWith(`${nodeId}/${SSTABLES_DIR}/`) || isDisambiguatedKey(key);
}
