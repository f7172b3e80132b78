// What `list` needs of each manifest (tag, kind, times, totals) without parsing every file entry of every
// manifest (1,000 manifests of 2,000 files are ~0.5 GB of JSON): first the summary record stored beside the
// manifest (summary-record.ts), trusted only while the listed manifest has the identity it names; else a summary
// derived from the whole manifest, parsed and checked as every reader checks it, so a damaged manifest is
// reported exactly as before. Both are cached per object version (key, etag, size) in the state directory.
import { readDerived, listManifestRefs, type ManifestRef } from './catalog.ts';
import { parseManifest } from './manifest.ts';
import { salvageManifest, type DamagedManifest } from './damaged.ts';
import { summariesPrefix } from './keys.ts';
import { byStartThenTag, type CatalogReader, type ManifestProblem } from './select.ts';
import { summarize, summaryFor, type ManifestSummary } from './summary-record.ts';
import type { ObjectInfo } from '../storage/backend.ts';
import { forEachLimit } from '../upload/pool.ts';

export type { ManifestSummary } from './summary-record.ts';

/** The cache's names; a new shape gets a new name, so an old cache is never misread. */
const DERIVED_KIND = 'manifest-summary-v1';
const RECORD_KIND = 'summary-record-v1';

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
  /** How each summary was had: from its record, or by reading the whole manifest. */
  readonly fromRecords: number;
  readonly fromManifests: number;
}

/** loadManifests (select.ts) for readers that need only the summaries: the same manifests, the same problems. */
export async function loadSummaries(reader: CatalogReader, nodeId: string): Promise<LoadedSummaries> {
  const refs = await listManifestRefs(reader.backend, nodeId, reader.signal);
  const records = new Map<string, ObjectInfo>();
  if (refs.length > 0) {
    const prefix = summariesPrefix(nodeId);
    for await (const o of reader.backend.list(prefix, { signal: reader.signal })) records.set(o.key.slice(prefix.length), o);
  }
  const summaries: ManifestSummary[] = [];
  const problems: ManifestProblem[] = [];
  let fromRecords = 0;
  await forEachLimit(refs, reader.concurrency, reader.signal, async (ref) => {
    try {
      const record = records.get(`${ref.tag}.json`);
      const recorded = record === undefined ? undefined : await readRecord(reader, record, ref);
      if (recorded !== undefined) fromRecords++;
      summaries.push(recorded ?? await deriveSummary(reader, ref));
    } catch (err) {
      if (reader.signal.aborted) throw err;
      if (err instanceof Rejected) problems.push({ key: ref.key, tag: ref.tag, error: err.damaged.error, damaged: err.damaged });
      else problems.push({ key: ref.key, tag: ref.tag, error: err instanceof Error ? err.message : String(err) });
    }
  });
  reader.signal.throwIfAborted();
  return { summaries: summaries.sort(byStartThenTag), problems, fromRecords, fromManifests: summaries.length - fromRecords };
}

/** The record's summary if it names this manifest object; undefined (read the manifest) otherwise or if unreadable. */
async function readRecord(reader: CatalogReader, record: ObjectInfo, ref: ManifestRef): Promise<ManifestSummary | undefined> {
  try {
    const text = await readDerived(reader.backend, record, reader.cacheDir, RECORD_KIND, (body) => body, reader.signal);
    return summaryFor(text, ref.object, ref.nodeId, ref.tag);
  } catch (err) {
    if (reader.signal.aborted) throw err;
    return undefined;
  }
}

function deriveSummary(reader: CatalogReader, ref: ManifestRef): Promise<ManifestSummary> {
  return readDerived(reader.backend, ref.object, reader.cacheDir, DERIVED_KIND, (body) => {
    try {
      return summarize(parseManifest(body, ref.key));
    } catch (err) {
      throw new Rejected(salvageManifest(ref.key, ref.tag, body, err));
    }
  }, reader.signal);
}
