// What `nodetool describecluster` told an earlier run (cluster name, partitioner, release version, every keyspace's
// replication), kept in the state directory so that a run whose node cannot have changed those facts starts one
// JVM fewer (each nodetool start costs about a CPU-second). `nodetool info -T` still runs every time: host id,
// tokens, data center and rack are always read fresh, and its gossip generation says whether Cassandra restarted.
//
// When the remembered facts are reused — all of these must hold, else describecluster runs again:
// - the same Cassandra host id (a replaced or re-bootstrapped node is another node);
// - the same gossip generation ("Generation No" of info: it changes at every start of the Cassandra process), since
//   the release version changes only with a restart (an upgrade), and the cluster name and partitioner never;
// - the same schema on disk: keyspace replication lives in system_schema.keyspaces, and Cassandra 5.0 flushes the
//   schema tables after every schema change it applies, local or received (SchemaKeyspace.applyChanges, unless the
//   test-only -Dcassandra.test.flush_local_schema_changes=false is set), so an ALTER KEYSPACE always leaves a new
//   SSTable there. The fingerprint is the names, sizes and mtimes of that table's files in every data directory;
//   any change (a flush, a compaction) means a fresh read. No such directory under the data directories (system
//   keyspaces elsewhere, e.g. local_system_data_file_directory) means no reuse at all.
// The fingerprint is taken before describecluster runs, so a change racing with the read makes the next run re-read.
// A cache that cannot be read or written is no error: the facts are then simply read from nodetool.
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KeyspaceReplication } from './ring.ts';

/** The facts of describecluster that the manifest records (and `version`, possibly from `nodetool version`). */
export interface ClusterFacts {
  readonly clusterName?: string;
  readonly partitioner?: string;
  readonly version?: string;
  readonly keyspaces?: KeyspaceReplication[];
}

/** What must be unchanged for remembered facts to be reused. */
export interface FactsKey {
  readonly hostId: string;
  readonly generation: string;
  readonly schema: string;
}

export interface RememberedFacts extends FactsKey {
  readonly facts: ClusterFacts;
}

export interface FactsCache {
  /** The schema fingerprint now (undefined: cannot be told, never reuse) and what was remembered, if anything. */
  recall(): Promise<{ schema: string | undefined; remembered: RememberedFacts | undefined }>;
  /** Best effort: a failed write is ignored. */
  remember(entry: RememberedFacts): Promise<void>;
}

/** The rule: reuse only for the same host id, gossip generation and schema fingerprint, all known. */
export function reusable(remembered: RememberedFacts | undefined, now: Partial<FactsKey>): remembered is RememberedFacts {
  return remembered !== undefined && now.hostId !== undefined && now.generation !== undefined && now.schema !== undefined &&
    remembered.hostId === now.hostId && remembered.generation === now.generation && remembered.schema === now.schema;
}

/** `Generation No          : 1796180229` of `nodetool info`. */
export function parseGeneration(infoText: string): string | undefined {
  return /^Generation No\s*:\s*(\d+)\s*$/m.exec(infoText)?.[1];
}

/** Names, sizes and mtimes of system_schema.keyspaces' files in every data directory, or undefined if there are none. */
export async function schemaFingerprint(dataDirs: readonly string[]): Promise<string | undefined> {
  const parts: string[] = [];
  for (const dataDir of dataDirs) {
    const schemaDir = join(dataDir, 'system_schema');
    const tables = await readdir(schemaDir).catch(() => [] as string[]);
    for (const table of tables.filter((t) => t.startsWith('keyspaces-')).sort()) {
      const dir = join(schemaDir, table);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries.filter((x) => x.isFile()).map((x) => x.name).sort()) {
        const st = await stat(join(dir, e)).catch(() => undefined);
        if (st !== undefined) parts.push(`${dir}/${e}:${st.size}:${st.mtimeMs}`);
      }
    }
  }
  return parts.length === 0 ? undefined : parts.join('\n');
}

/** The cache as a JSON file (e.g. `<state dir>/node-facts.json`) over the schema of `dataDirs`. */
export function fileFactsCache(path: string, dataDirs: readonly string[]): FactsCache {
  return {
    async recall() {
      const [schema, remembered] = await Promise.all([schemaFingerprint(dataDirs), readRemembered(path)]);
      return { schema, remembered };
    },
    async remember(entry) {
      try {
        await mkdir(dirname(path), { recursive: true });
        const tmp = `${path}.${process.pid}.tmp`;
        await writeFile(tmp, `${JSON.stringify({ ...entry, at: new Date().toISOString() })}\n`);
        await rename(tmp, path);
      } catch {
        // best effort: the next run reads describecluster again
      }
    },
  };
}

async function readRemembered(path: string): Promise<RememberedFacts | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<RememberedFacts>;
    const ok = typeof v.hostId === 'string' && typeof v.generation === 'string' && typeof v.schema === 'string' &&
      typeof v.facts === 'object' && v.facts !== null && Array.isArray(v.facts.keyspaces);
    return ok ? { hostId: v.hostId!, generation: v.generation!, schema: v.schema!, facts: v.facts! } : undefined;
  } catch {
    return undefined;
  }
}
