// The one rule for storage classes: data objects go in the class the operator chose; catalog records (manifests,
// leases, cluster records: everything under a `.cass-backup-run/` segment) always stay in the store's default
// class, so that list, verify, purge and restore can read them without a retrieval from an archive tier.
import { CATALOG_DIR } from '../catalog/keys.ts';
import type { Backend, CopyOptions, PutOptions, PutSource } from './backend.ts';

/** Keyspace names cannot start with a dot, so no data key has this segment. */
export function isCatalogKey(key: string): boolean {
  return key.split('/').includes(CATALOG_DIR);
}

export function withDataStorageClass(inner: Backend, storageClass: string | undefined): Backend {
  if (storageClass === undefined) return inner;
  const pick = (key: string): { storageClass?: string } => (isCatalogKey(key) ? {} : { storageClass });
  return {
    ...inner,
    put: (key: string, source: PutSource, options?: PutOptions) => inner.put(key, source, { ...options, ...pick(key) }),
    copy: (from: string, to: string, options?: CopyOptions) => inner.copy(from, to, { ...options, ...pick(to) }),
  };
}
