import type { CatalogContext } from './catalog-context.ts';
import { IncompleteError } from '../errors.ts';
import { checkContent, checkMetadata, compareWithStored, fail, type CheckMethod, type CheckOutcome } from '../catalog/check.ts';
import { listStored, type StoredListing } from '../catalog/confirm.ts';
import type { Manifest, ManifestFile } from '../catalog/manifest.ts';
import { manifestCache, resolveBackup } from '../catalog/select.ts';
import { forEachLimit } from '../upload/pool.ts';
import { formatBytes } from '../output/human.ts';
import { endTransfer, trackFile } from '../report.ts';
import type { Duplex } from 'node:stream';
import { identitiesFor, type Identities } from '../crypto/identity.ts';
import { decryptStage } from '../crypto/decrypting-stream.ts';

export interface VerifyInput {
  /** A backup tag, or `latest`. */
  readonly backup: string;
  readonly deep: boolean;
  /** The operator's age identities (--identity): with --deep, encrypted objects are decrypted and their plaintext checked. */
  readonly identities?: Identities;
}

export interface Tally {
  readonly problems: string[];
  readonly methods: Record<CheckMethod, number>;
  /** How the store was asked: directory listings, and objects looked up one by one (stat) after the listing. */
  readonly lookups: { listings: number; stats: number };
}

export async function verifyCommand(input: VerifyInput, ctx: CatalogContext): Promise<void> {
  const manifest = await resolveBackup({
    backend: ctx.backend, cacheDir: await manifestCache(ctx.stateDir), concurrency: ctx.concurrency, signal: ctx.signal,
    warn: (message) => ctx.reporter.emit({ type: 'warning', message }),
  }, ctx.nodeId, input.backup);
  // A wrong identity is one line (exit 2) before anything is downloaded; without one, the stored bytes are checked.
  const identities = input.identities === undefined || manifest.encryption === undefined ? undefined
    : identitiesFor({ tag: manifest.tag, recipients: manifest.encryption.recipients }, input.identities, 'verify');
  const decrypt = identities === undefined ? undefined : decryptStage(identities);
  if (!ctx.json) {
    const what = input.deep ? `downloading and re-hashing every object${deepEncryptionNote(manifest, decrypt !== undefined)}`
      : `${manifest.files.length} objects, ${formatBytes(manifest.totals.bytes)}`;
    ctx.reporter.emit({ type: 'info', message: `verify ${manifest.tag} (${manifest.kind} of node ${manifest.nodeId}): ${what}` });
  }
  // --deep moves every byte of the backup: a transfer, shown live like a backup's or a restore's.
  if (input.deep) {
    ctx.reporter.emit({ type: 'start', command: 'verify', tag: manifest.tag, source: ctx.backend.description,
      files: manifest.files.length, bytes: manifest.totals.bytes });
  }
  const tally = await checkAll(manifest.files, input.deep, ctx, decrypt);
  ctx.signal.throwIfAborted();
  report(manifest, input.deep, tally, ctx);
  if (tally.problems.length > 0) {
    throw new IncompleteError(`verify ${manifest.tag}: ${tally.problems.length} of ${manifest.files.length} objects do not match the manifest`,
      tally.problems);
  }
}

function deepEncryptionNote(manifest: Manifest, decrypting: boolean): string {
  if (manifest.encryption === undefined) return '';
  return decrypting ? ' (encrypted: decrypting, and checking the plaintext CRC32C)'
    : ' (encrypted: checking the stored bytes; --identity FILE also decrypts them and checks the plaintext)';
}

/**
 * Every file against one listing of the directories the backup uses (confirm.ts): present, same size, and the
 * same CRC32C or ETag where the listing carries one. Only what the listing cannot settle is asked of the store
 * one object at a time (stat): an object the listing shows missing, of another size or checksum (confirmed by a
 * direct request before it is reported, with the store's strongest metadata), or one whose listing offers
 * nothing but its size. So a problem found is the same one a stat per object would find, at a listing page per
 * 1,000 objects instead of a request each. With --deep, every object that is there is then downloaded.
 */
export async function checkAll(files: readonly ManifestFile[], deep: boolean, ctx: CatalogContext, decrypt?: () => Duplex): Promise<Tally> {
  const tally: Tally = { problems: [], methods: { crc32c: 0, etag: 0, size: 0, download: 0 }, lookups: { listings: 0, stats: 0 } };
  try {
    const listing = await listStored(ctx.backend, files.map((f) => f.key), { concurrency: ctx.concurrency, signal: ctx.signal });
    tally.lookups.listings = listing.listings;
    await forEachLimit(files, ctx.concurrency, ctx.signal, async (file) => {
      const outcome = await checkOne(file, deep, listing, tally, ctx, decrypt);
      if (outcome.ok) tally.methods[outcome.method] += 1;
      else tally.problems.push(outcome.problem);
      if (deep && outcome.ok) ctx.reporter.emit({ type: 'file', path: file.path, key: file.key, action: 'verified', bytes: file.size, size: file.size });
    });
  } finally {
    if (deep) endTransfer(ctx.reporter);
  }
  tally.problems.sort();
  return tally;
}

// A store error on one object is reported like a mismatch, so that one bad object does not hide the others.
// With --deep, a checksum or ETag that disagrees in the metadata is settled by the bytes themselves.
async function checkOne(file: ManifestFile, deep: boolean, listing: StoredListing, tally: Tally, ctx: CatalogContext,
  decrypt: (() => Duplex) | undefined): Promise<CheckOutcome> {
  try {
    const meta = await checkListed(file, listing, tally, ctx);
    const settled = !meta.ok && meta.kind !== 'checksum';
    if (!deep || settled) return meta;
    const tracker = trackFile(ctx.reporter, file.path, file.size);
    try {
      return await checkContent(ctx.backend, file, ctx.signal, (n) => tracker.add(n), decrypt);
    } finally {
      tracker.end();
    }
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return fail(file, 'error', `error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The listing's answer when it settles the object as intact; otherwise the store's own answer for this object. */
async function checkListed(file: ManifestFile, listing: StoredListing, tally: Tally, ctx: CatalogContext): Promise<CheckOutcome> {
  const listed = compareWithStored(file, listing.found.get(file.key));
  if (listed.ok && listed.method !== 'size') return listed;
  tally.lookups.stats += 1;
  return checkMetadata(ctx.backend, file, ctx.signal);
}

function report(manifest: Manifest, deep: boolean, tally: Tally, ctx: CatalogContext): void {
  const ok = tally.problems.length === 0;
  if (ctx.json) {
    ctx.out(`${JSON.stringify({
      command: 'verify', ok, node: manifest.nodeId, tag: manifest.tag, kind: manifest.kind, deep,
      objects: manifest.files.length, bytes: manifest.totals.bytes, checkedBy: tally.methods, lookups: tally.lookups, problems: tally.problems,
    })}\n`);
    return;
  }
  for (const p of tally.problems) ctx.out(`MISMATCH ${p}\n`);
  if (ok) ctx.out(`verify ${manifest.tag}: OK, ${manifest.files.length} objects, ${formatBytes(manifest.totals.bytes)} (${how(deep, tally)})\n`);
}

function how(deep: boolean, tally: Tally): string {
  if (deep) return 'every object downloaded and its CRC32C recomputed';
  const m = tally.methods;
  const parts = [m.crc32c > 0 ? `${m.crc32c} by stored CRC32C` : '', m.etag > 0 ? `${m.etag} by ETag` : '',
    m.size > 0 ? `${m.size} by size only` : ''].filter(Boolean);
  const l = tally.lookups;
  const asked = `from ${l.listings} directory listing(s)${l.stats > 0 ? ` and ${l.stats} single lookup(s)` : ''}`;
  return `${parts.join(', ') || 'nothing to check'}, ${asked}; --deep downloads and re-hashes`;
}
