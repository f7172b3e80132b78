// Confirms, in bulk, that objects a manifest is about to reference are in the store as recorded: one listing per
// directory that holds them instead of one request per object, so a backup that reuses 100,000 stored files
// spends seconds here, not minutes. The comparison is check.ts's, the same one `verify` applies.
import type { Backend, ObjectInfo } from '../storage/backend.ts';
import { forEachLimit } from '../upload/pool.ts';
import { compareWithStored, type CheckOutcome, type StoredRef } from './check.ts';

export interface Unconfirmed<T extends StoredRef> {
  readonly ref: T;
  /** What the store holds under the key, if anything. */
  readonly found: ObjectInfo | undefined;
  readonly problem: string;
}

export interface Confirmation<T extends StoredRef> {
  /** The references the store does not hold as recorded (missing, other size, other checksum or ETag). */
  readonly unconfirmed: Unconfirmed<T>[];
  /** Listings made (one per directory prefix). */
  readonly listings: number;
}

export async function confirmInStore<T extends StoredRef>(
  backend: Backend, refs: readonly T[], options: { readonly concurrency: number; readonly signal: AbortSignal },
): Promise<Confirmation<T>> {
  if (refs.length === 0) return { unconfirmed: [], listings: 0 };
  const { found, listings } = await listStored(backend, refs.map((r) => r.key), options);
  const out: Unconfirmed<T>[] = [];
  for (const ref of refs) {
    const outcome: CheckOutcome = compareWithStored(ref, found.get(ref.key));
    if (!outcome.ok) out.push({ ref, found: found.get(ref.key), problem: outcome.problem });
  }
  return { unconfirmed: out, listings };
}

export interface StoredListing {
  /** What the store lists under each wanted key; a wanted key absent here is not in the store. */
  readonly found: ReadonlyMap<string, ObjectInfo>;
  /** Listings made (one per directory prefix; each may take several pages). */
  readonly listings: number;
}

/**
 * What the store holds under the given keys, from one listing per directory that holds them (listingPrefixes),
 * `concurrency` listings at a time: for many keys, far fewer requests than one stat per key.
 */
export async function listStored(
  backend: Backend, keys: readonly string[], options: { readonly concurrency: number; readonly signal: AbortSignal },
): Promise<StoredListing> {
  const wanted = new Set(keys);
  const found = new Map<string, ObjectInfo>();
  const prefixes = listingPrefixes(wanted);
  await forEachLimit(prefixes, options.concurrency, options.signal, async (prefix) => {
    for await (const object of backend.list(prefix, { signal: options.signal })) {
      if (wanted.has(object.key)) found.set(object.key, object);
    }
  });
  options.signal.throwIfAborted();
  return { found, listings: prefixes.length };
}

/**
 * The fewest directory prefixes whose listings cover every key: each key's directory, minus those inside another
 * chosen one (a listing is recursive). Pure.
 */
export function listingPrefixes(keys: Iterable<string>): string[] {
  const dirs = new Set<string>();
  for (const key of keys) dirs.add(key.slice(0, key.lastIndexOf('/') + 1));
  const sorted = [...dirs].sort();
  const out: string[] = [];
  for (const dir of sorted) {
    const last = out.at(-1);
    if (last !== undefined && dir.startsWith(last)) continue;
    out.push(dir);
  }
  return out;
}
