// Where things live in the local state directory (--state-dir). Pure.
import { join } from 'node:path';

export function journalDir(stateDir: string, nodeId: string): string {
  return join(stateDir, 'journal', nodeId);
}

/** One journal per unfinished backup: `snapshot-<tag>` or `incremental`. */
export function journalPath(stateDir: string, nodeId: string, name: string): string {
  return join(journalDir(stateDir, nodeId), `${name}.jsonl`);
}

export function manifestCacheDir(stateDir: string): string {
  return join(stateDir, 'manifest-cache');
}

/** The Cassandra host id last backed up under a node id (remembered-host-id.ts). */
export function hostIdPath(stateDir: string, nodeId: string): string {
  return join(stateDir, 'cassandra-host-id', `${nodeId}.json`);
}

/** The identity this node was last identified as (cloud, instance, node id): see src/cloud/remembered-identity.ts. */
export function rememberedIdentityPath(stateDir: string): string {
  return join(stateDir, 'identity.json');
}

/** What `nodetool describecluster` last said, reused while the node cannot have changed it (cassandra/facts-cache.ts). */
export function nodeFactsPath(stateDir: string): string {
  return join(stateDir, 'node-facts.json');
}
