// Reads a manifest the CLI stored, for assertions.
import type { StoreReader } from './stores.ts';

export interface StoredManifest {
  readonly nodeId: string;
  readonly tag: string;
  readonly kind: string;
  readonly dataDirs: string[];
  readonly files: { path: string; dataDir: number; size: number; key: string; crc32c: string; etag?: string; reused?: boolean }[];
  readonly totals: { files: number; bytes: number; uploadedBytes: number };
  readonly cassandra: Record<string, unknown>;
  readonly cloud: Record<string, unknown>;
  /** The machine's full host name (os.hostname()) at backup time. */
  readonly hostname: string;
  readonly nodetool?: { command: string[]; exitCode: number };
}

export function manifestKeyOf(nodeId: string, tag: string): string {
  return `${nodeId}/.cass-backup-run/manifests/${tag}.json`;
}

export async function readStoredManifest(store: StoreReader, nodeId: string, tag: string): Promise<StoredManifest> {
  return JSON.parse((await store.get(manifestKeyOf(nodeId, tag))).toString('utf8')) as StoredManifest;
}
