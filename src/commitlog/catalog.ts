// Where archived commit-log segments live in the destination, and the commit-log manifest each upload run writes
// (create-only, after every segment it names is confirmed in the store). Under the catalog directory, so that
// purge's orphan sweep of data objects never touches them; their retention is commitlog/retention.ts's.
import { CATALOG_DIR } from '../catalog/keys.ts';
import type { Backend } from '../storage/backend.ts';
import { parseSegmentName } from './segment.ts';

export interface ArchivedSegment {
  readonly name: string;
  readonly version: number;
  readonly id: number;
  readonly key: string;
  readonly size: number;
  /** CRC32C (base64) of the bytes stored. */
  readonly crc32c: string;
  /** When archive_command staged it: every mutation in the segment was written before this. */
  readonly archivedAt: string;
  /** Start of the Cassandra process that archived it, when known (tells a restart from a lost segment). */
  readonly cassandraStartedAt?: string;
}

export interface CommitLogManifest {
  readonly format: 1;
  readonly kind: 'commitlog';
  readonly nodeId: string;
  readonly hostname: string;
  readonly toolVersion: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly segments: readonly ArchivedSegment[];
}

export const commitLogPrefix = (nodeId: string): string => `${nodeId}/${CATALOG_DIR}/commitlog/`;
export const segmentKey = (nodeId: string, name: string): string => `${commitLogPrefix(nodeId)}segments/${name}`;
export const commitLogManifestsPrefix = (nodeId: string): string => `${commitLogPrefix(nodeId)}manifests/`;
export const commitLogManifestKey = (nodeId: string, runId: string): string => `${commitLogManifestsPrefix(nodeId)}${runId}.json`;

export interface CommitLogCatalog {
  /** Every archived segment named by a readable manifest, one per name, in id order. */
  readonly segments: ArchivedSegment[];
  readonly manifests: { readonly key: string; readonly segments: readonly string[] }[];
  /** Manifests that could not be read or parsed: coverage that relies on them cannot be claimed. */
  readonly problems: string[];
}

export async function readCommitLogCatalog(backend: Backend, nodeId: string, signal?: AbortSignal): Promise<CommitLogCatalog> {
  const keys: string[] = [];
  for await (const o of backend.list(commitLogManifestsPrefix(nodeId), { signal })) if (o.key.endsWith('.json')) keys.push(o.key);
  keys.sort();
  const byName = new Map<string, ArchivedSegment>();
  const manifests: CommitLogCatalog['manifests'] = [];
  const problems: string[] = [];
  for (const key of keys) {
    try {
      const m = parseCommitLogManifest(await readAll(await backend.get(key, { signal })));
      for (const s of m.segments) if (!byName.has(s.name)) byName.set(s.name, s);
      manifests.push({ key, segments: m.segments.map((s) => s.key) });
    } catch (err) {
      problems.push(`${key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { segments: [...byName.values()].sort((a, b) => a.id - b.id), manifests, problems };
}

export function parseCommitLogManifest(text: string): CommitLogManifest {
  const m = JSON.parse(text) as Partial<CommitLogManifest>;
  if (m.kind !== 'commitlog' || m.format !== 1 || !Array.isArray(m.segments)) throw new Error('not a commit-log manifest (format 1)');
  for (const s of m.segments) {
    const parsed = parseSegmentName(String(s?.name));
    if (!parsed || parsed.id !== s.id || typeof s.key !== 'string' || typeof s.size !== 'number' || typeof s.crc32c !== 'string' ||
      Number.isNaN(Date.parse(String(s.archivedAt)))) {
      throw new Error(`segment entry ${JSON.stringify(s?.name)} is malformed`);
    }
  }
  return m as CommitLogManifest;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}
