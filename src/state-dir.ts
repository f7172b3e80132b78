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

/** The identity this node was last identified as (cloud, instance, node id): see src/cloud/remembered-identity.ts. */
export function rememberedIdentityPath(stateDir: string): string {
  return join(stateDir, 'identity.json');
}
