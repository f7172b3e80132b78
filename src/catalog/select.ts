// Finding manifests for the catalog commands: which nodes have backups, a node's manifests, and the one
// backup an operator names (a tag, or `latest`).
import { manifestCacheDir } from '../state-dir.ts';
import { mkdir } from 'node:fs/promises';
import type { Backend } from '../storage/backend.ts';
import { UsageError } from '../errors.ts';
import { forEachLimit } from '../upload/pool.ts';
import { listManifestRefs, readCatalogEntry, readManifest, type ManifestRef } from './catalog.ts';
import type { DamagedManifest } from './damaged.ts';
import type { Manifest } from './manifest.ts';

export const LATEST = 'latest';

export interface CatalogReader {
  readonly backend: Backend;
  /** Local cache of downloaded manifests; undefined when the state directory cannot be written. */
  readonly cacheDir: string | undefined;
  readonly concurrency: number;
  readonly signal: AbortSignal;
  /** Told about manifests that were skipped while choosing `latest`. */
  readonly warn?: (message: string) => void;
}

/**
 * The manifest cache under the state directory, shared with the backup commands. Restore and verify may run
 * on a machine (or as a user) where the state directory is not writable: they then simply read without a cache.
 */
export async function manifestCache(stateDir: string): Promise<string | undefined> {
  const dir = manifestCacheDir(stateDir);
  try {
    await mkdir(dir, { recursive: true });
    return dir;
  } catch {
    return undefined;
  }
}

/** Node ids under the destination root: every top-level "directory" except hidden ones (the catalog's own). */
export async function listNodeIds(backend: Backend, signal?: AbortSignal): Promise<string[]> {
  const dirs = await backend.listDirs('', { signal });
  return dirs.filter((d) => d !== '' && !d.startsWith('.')).sort();
}

export interface ManifestProblem {
  readonly key: string;
  readonly tag: string;
  readonly error: string;
  /** Set when the store gave bytes this version rejects (rather than failing to give any). */
  readonly damaged?: DamagedManifest;
}

export interface LoadedManifests {
  readonly manifests: Manifest[];
  /** Manifests that exist but could not be read or were rejected (malformed, unsafe paths). */
  readonly problems: ManifestProblem[];
}

/**
 * Every readable manifest of one node. Unreadable or damaged ones are reported, never fatal: each caller decides
 * what a problem means for it (list shows it; restore --until refuses one that may hold files it needs).
 */
export async function loadManifests(reader: CatalogReader, nodeId: string): Promise<LoadedManifests> {
  const refs = await listManifestRefs(reader.backend, nodeId, reader.signal);
  const manifests: Manifest[] = [];
  const problems: ManifestProblem[] = [];
  await forEachLimit(refs, reader.concurrency, reader.signal, async (ref) => {
    try {
      const entry = await readCatalogEntry(reader.backend, ref, reader.cacheDir);
      if ('manifest' in entry) manifests.push(entry.manifest);
      else problems.push({ key: ref.key, tag: ref.tag, error: entry.damaged.error, damaged: entry.damaged });
    } catch (err) {
      if (reader.signal.aborted) throw err;
      problems.push({ key: ref.key, tag: ref.tag, error: err instanceof Error ? err.message : String(err) });
    }
  });
  reader.signal.throwIfAborted();
  return { manifests: manifests.sort(byStartThenTag), problems };
}

export function byStartThenTag(a: Pick<Manifest, 'startedAt' | 'tag'>, b: Pick<Manifest, 'startedAt' | 'tag'>): number {
  return a.startedAt.localeCompare(b.startedAt) || a.tag.localeCompare(b.tag);
}

/** The newest snapshot (by start time), or undefined when the node has none. */
export function latestSnapshot(manifests: readonly Manifest[]): Manifest | undefined {
  return [...manifests].filter((m) => m.kind === 'snapshot').sort(byStartThenTag).at(-1);
}

/**
 * The manifest a tag or `latest` names. A named tag is read on its own; errors reading it (an unsafe path in
 * it, say) propagate, because acting on a backup that cannot be trusted is never right.
 */
export async function resolveBackup(reader: CatalogReader, nodeId: string, spec: string): Promise<Manifest> {
  const refs = await listManifestRefs(reader.backend, nodeId, reader.signal);
  if (spec === LATEST) return readLatest(reader, nodeId, refs);
  const ref = refs.find((r) => r.tag === spec);
  if (ref === undefined) throw new UsageError(`no backup "${spec}" for node ${nodeId} in ${reader.backend.description}${available(refs)}`);
  return readManifest(reader.backend, ref, reader.cacheDir);
}

async function readLatest(reader: CatalogReader, nodeId: string, refs: readonly ManifestRef[]): Promise<Manifest> {
  const { manifests, problems } = await loadManifests(reader, nodeId);
  for (const p of problems) reader.warn?.(`skipped unreadable manifest ${p.key}: ${p.error}`);
  const latest = latestSnapshot(manifests);
  if (latest === undefined) {
    throw new UsageError(`node ${nodeId} has no snapshot backup in ${reader.backend.description}${available(refs)}`);
  }
  return latest;
}

function available(refs: readonly ManifestRef[]): string {
  if (refs.length === 0) return ' (it has no backups at all: check --dest and --node-id)';
  const tags = refs.map((r) => r.tag);
  const shown = tags.slice(-10).join(', ');
  return ` (backups: ${tags.length > 10 ? `…, ${shown}` : shown})`;
}
