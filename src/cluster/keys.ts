// Where cluster backups live in the destination (DESIGN section 11), beside the node prefixes. Pure.
//   .cass-backup-run/clusters/<cluster>/<id>/members/<host-id>.json     a node joined (create-only, never updated)
//   .cass-backup-run/clusters/<cluster>/<id>/complete/<host-id>.json    its node manifest is written (create-only)
//   .cass-backup-run/clusters/<cluster>/<id>/cluster-manifest.json      every expected member complete (create-only)
//   .cass-backup-run/cluster-index/<cluster>/<id>.json                  the summary of a complete one (after it)
// One listing of <id>/ tells who joined and who completed: a completion check costs one request, not one per node.
// One listing of the index tells which backups are complete: `list --cluster` costs a few requests, not one per id.
import { CATALOG_DIR } from '../catalog/keys.ts';

export function clustersPrefix(): string {
  return `${CATALOG_DIR}/clusters/`;
}

export function clusterPrefix(cluster: string): string {
  return `${clustersPrefix()}${cluster}/`;
}

export function backupPrefix(cluster: string, id: string): string {
  return `${clusterPrefix(cluster)}${id}/`;
}

export function memberKey(cluster: string, id: string, hostId: string): string {
  return `${backupPrefix(cluster, id)}members/${hostId}.json`;
}

export function completeKey(cluster: string, id: string, hostId: string): string {
  return `${backupPrefix(cluster, id)}complete/${hostId}.json`;
}

export function schemaKey(cluster: string, id: string): string {
  return `${backupPrefix(cluster, id)}schema.cql`;
}

export function clusterManifestKey(cluster: string, id: string): string {
  return `${backupPrefix(cluster, id)}cluster-manifest.json`;
}

/** What a key under clustersPrefix() is: a member record, a cluster manifest, or neither. */
export function clusterIndexPrefix(cluster: string): string {
  return `${CATALOG_DIR}/cluster-index/${cluster}/`;
}

export function clusterIndexKey(cluster: string, id: string): string {
  return `${clusterIndexPrefix(cluster)}${id}.json`;
}

export function classifyClusterKey(key: string):
  { cluster: string; id: string; member?: string; complete?: string; manifest?: true } | undefined {
  if (!key.startsWith(clustersPrefix())) return undefined;
  const parts = key.slice(clustersPrefix().length).split('/');
  const [cluster, id, third, fourth] = parts;
  if (cluster === undefined || id === undefined || third === undefined) return undefined;
  if (parts.length === 3 && third === 'cluster-manifest.json') return { cluster, id, manifest: true };
  if (parts.length !== 4 || fourth === undefined || !fourth.endsWith('.json')) return undefined;
  const hostId = fourth.slice(0, -'.json'.length);
  if (third === 'members') return { cluster, id, member: hostId };
  if (third === 'complete') return { cluster, id, complete: hostId };
  return undefined;
}
