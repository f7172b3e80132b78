// Reads and writes the manifests of a node. Manifests never change once written, so they are cached locally
// by key and etag; each run downloads only the ones it has not seen.
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { isAlreadyExists, type Backend, type ObjectInfo } from '../storage/backend.ts';
import { IncompleteError } from '../errors.ts';
import { manifestKey, manifestsPrefix, tagOfManifestKey } from './keys.ts';
import { parseManifest, serializeManifestChunks, type Manifest } from './manifest.ts';
import type { StoredRecord } from '../upload/plan.ts';
import { chunksSource } from '../storage/source.ts';
import { salvageManifest, type DamagedManifest } from './damaged.ts';
import { writeSummaryRecord } from './summary-record.ts';

export interface ManifestRef {
  readonly nodeId: string;
  readonly tag: string;
  readonly key: string;
  readonly object: ObjectInfo;
}

export async function listManifestRefs(backend: Backend, nodeId: string, signal?: AbortSignal): Promise<ManifestRef[]> {
  const refs: ManifestRef[] = [];
  for await (const object of backend.list(manifestsPrefix(nodeId), { signal })) {
    const tag = tagOfManifestKey(nodeId, object.key);
    if (tag !== undefined) refs.push({ nodeId, tag, key: object.key, object });
  }
  return refs.sort((a, b) => a.tag.localeCompare(b.tag));
}

export async function readManifest(backend: Backend, ref: ManifestRef, cacheDir?: string): Promise<Manifest> {
  const entry = await readCatalogEntry(backend, ref, cacheDir);
  if ('manifest' in entry) return entry.manifest;
  throw entry.damaged.cause;
}

/**
 * A manifest, or, when the store gives bytes that are not a manifest this version accepts, what could be salvaged
 * from them (damaged.ts): one damaged manifest must neither hide nor block the others. A failure to read the bytes
 * at all (the store, the network) is thrown.
 */
export async function readCatalogEntry(backend: Backend, ref: ManifestRef, cacheDir?: string):
  Promise<{ readonly manifest: Manifest } | { readonly damaged: DamagedManifest }> {
  let manifest: Manifest | undefined;
  let damaged: DamagedManifest | undefined;
  await readImmutable(backend, ref.object, cacheDir, (body) => {
    try {
      manifest = parseManifest(body, ref.key);
      return true;
    } catch (err) {
      damaged = salvageManifest(ref.key, ref.tag, body, err);
      return false;
    }
  });
  return manifest !== undefined ? { manifest } : { damaged: damaged as DamagedManifest };
}

/**
 * The text of a catalog document that is never rewritten (a manifest, a cluster manifest), from the local cache
 * when this version of it (key, etag, size) was read before. `accept` parses it; only accepted text is cached.
 */
export async function readImmutable(backend: Backend, object: ObjectInfo, cacheDir: string | undefined,
  accept: (body: string) => boolean): Promise<void> {
  const cachePath = cacheDir ? join(cacheDir, cacheName(object)) : undefined;
  const cached = cachePath ? await readFile(cachePath, 'utf8').catch(() => undefined) : undefined;
  const body = cached ?? await text(await backend.get(object.key));
  if (accept(body) && cachePath && cacheDir && cached === undefined) await writeCached(cacheDir, cachePath, body);
}

function cacheName(object: ObjectInfo): string {
  return createHash('sha256').update(`${object.key}\0${object.etag ?? ''}\0${object.size}`).digest('hex');
}

/**
 * Something derived from a document that never changes (e.g. a summary of a large one), cached by the document's
 * identity (key, etag, size): read from the cache when there, else derived from the document's text and stored.
 */
export async function readDerived<T>(backend: Backend, object: ObjectInfo, cacheDir: string | undefined, kind: string,
  derive: (body: string) => T, signal?: AbortSignal): Promise<T> {
  const cachePath = cacheDir ? join(cacheDir, `${kind}-${cacheName(object)}.json`) : undefined;
  const cached = cachePath ? await readFile(cachePath, 'utf8').catch(() => undefined) : undefined;
  if (cached !== undefined) {
    try {
      return JSON.parse(cached) as T;
    } catch {
      // a torn cache file: derive it again
    }
  }
  const value = derive(await text(await backend.get(object.key, { signal })));
  if (cachePath && cacheDir) await writeCached(cacheDir, cachePath, JSON.stringify(value)).catch(() => undefined);
  return value;
}

async function writeCached(dir: string, path: string, body: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, body);
  await rename(tmp, path);
}

export async function loadNodeManifests(
  backend: Backend, nodeId: string, cacheDir?: string, signal?: AbortSignal,
): Promise<{ manifests: Manifest[]; damaged: DamagedManifest[] }> {
  const refs = await listManifestRefs(backend, nodeId, signal);
  const manifests: Manifest[] = [];
  const damaged: DamagedManifest[] = [];
  for (const ref of refs) {
    try {
      const entry = await readCatalogEntry(backend, ref, cacheDir);
      if ('manifest' in entry) manifests.push(entry.manifest);
      else damaged.push(entry.damaged);
    } catch (err) {
      // Deleted since the listing (a purge elsewhere): it references nothing any more.
      if ((await backend.stat(ref.key, { signal })) === undefined) continue;
      throw err;
    }
  }
  return { manifests, damaged };
}

/** Every object the given manifests reference, by key: these must never be overwritten with other bytes. */
export function referencedObjects(manifests: readonly Manifest[]): Map<string, StoredRecord> {
  const out = new Map<string, StoredRecord>();
  for (const m of manifests) {
    for (const f of m.files) {
      out.set(f.key, { key: f.key, path: f.path, size: f.size, mtimeMs: f.mtimeMs, ino: f.ino, crc32c: f.crc32c, etag: f.etag,
        ...(f.stored === undefined ? {} : { stored: f.stored }) });
    }
  }
  return out;
}

/**
 * The manifest goes last: its presence is what marks the backup complete. Create-only: a manifest is never
 * replaced, so another run that completed the same tag first keeps its backup, and this run fails.
 */
export async function writeManifest(backend: Backend, manifest: Manifest, signal?: AbortSignal): Promise<string> {
  const key = manifestKey(manifest.nodeId, manifest.tag);
  try {
    const stored = await backend.put(key, chunksSource(serializeManifestChunks(manifest)), { signal, createOnly: true });
    // After the manifest, naming its identity: a record never exists for a manifest that was not written.
    await writeSummaryRecord(backend, manifest, { ...stored, key }, signal);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    throw new IncompleteError(`another run completed a backup named "${manifest.tag}" for node ${manifest.nodeId} first; ` +
      `its manifest ${key} was left as it is and this run's was not written`, [], { cause: err });
  }
  return key;
}
