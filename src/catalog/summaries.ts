// What `list` needs of a manifest (tag, kind, times, totals), cached per manifest version (key, etag, size) in
// the state directory: a manifest never changes once written, so a later `list` reads one small file per backup
// instead of parsing every file entry of every manifest again (1,000 manifests of 2,000 files: ~0.5 GB of JSON).
// The summary is derived from the whole manifest, parsed and checked as every reader checks it, so a damaged
// manifest is reported exactly as before; only accepted manifests are summarised and cached.
import { readDerived, listManifestRefs, type ManifestRef } from './catalog.ts';
import { parseManifest, type Manifest } from './manifest.ts';
import { salvageManifest, type DamagedManifest } from './damaged.ts';
import { byStartThenTag, type CatalogReader, type ManifestProblem } from './select.ts';
import { forEachLimit } from '../upload/pool.ts';

export type ManifestSummary = Pick<Manifest, 'nodeId' | 'tag' | 'kind' | 'startedAt' | 'finishedAt' | 'totals'>;

/** The cache's name for summaries; a new shape gets a new name, so an old cache is never misread. */
const SUMMARY_KIND = 'manifest-summary-v1';

export function summarize(m: Manifest): ManifestSummary {
  return { nodeId: m.nodeId, tag: m.tag, kind: m.kind, startedAt: m.startedAt, finishedAt: m.finishedAt, totals: m.totals };
}

/** Thrown by the derivation so that a rejected manifest is never cached (a later version may accept it). */
class Rejected extends Error {
  readonly damaged: DamagedManifest;
  constructor(damaged: DamagedManifest) {
    super(damaged.error);
    this.damaged = damaged;
  }
}

export interface LoadedSummaries {
  readonly summaries: ManifestSummary[];
  /** As loadManifests' problems: manifests that exist but could not be read or were rejected. */
  readonly problems: ManifestProblem[];
}

/** loadManifests (select.ts) for readers that need only the summaries: the same manifests, the same problems. */
export async function loadSummaries(reader: CatalogReader, nodeId: string): Promise<LoadedSummaries> {
  const refs = await listManifestRefs(reader.backend, nodeId, reader.signal);
  const summaries: ManifestSummary[] = [];
  const problems: ManifestProblem[] = [];
  await forEachLimit(refs, reader.concurrency, reader.signal, async (ref) => {
    try {
      summaries.push(await readSummary(reader, ref));
    } catch (err) {
      if (reader.signal.aborted) throw err;
      if (err instanceof Rejected) problems.push({ key: ref.key, tag: ref.tag, error: err.damaged.error, damaged: err.damaged });
      else problems.push({ key: ref.key, tag: ref.tag, error: err instanceof Error ? err.message : String(err) });
    }
  });
  reader.signal.throwIfAborted();
  return { summaries: summaries.sort(byStartThenTag), problems };
}

function readSummary(reader: CatalogReader, ref: ManifestRef): Promise<ManifestSummary> {
  return readDerived(reader.backend, ref.object, reader.cacheDir, SUMMARY_KIND, (body) => {
    try {
      return summarize(parseManifest(body, ref.key));
    } catch (err) {
      throw new Rejected(salvageManifest(ref.key, ref.tag, body, err));
    }
  }, reader.signal);
}
