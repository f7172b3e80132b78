// The summary record written beside each manifest: what `list` shows of it (tag, kind, times, totals) and the
// identity of the exact manifest object it summarises (key, size, and the ETag/generation the store gave when the
// manifest was stored). `list` trusts a record only while the listed manifest still has that identity, so a
// manifest replaced or rewritten is read whole again, as is one without a record (older versions, a crash between
// the two writes). The manifest stays the truth: a record never makes a backup appear that has no manifest.
import type { Backend, ObjectInfo } from '../storage/backend.ts';
import { chunksSource } from '../storage/source.ts';
import { summaryKey } from './keys.ts';
import type { Manifest } from './manifest.ts';

export type ManifestSummary = Pick<Manifest, 'nodeId' | 'tag' | 'kind' | 'startedAt' | 'finishedAt' | 'totals'>;

export const SUMMARY_FORMAT = 1;

export interface SummaryRecord {
  readonly format: typeof SUMMARY_FORMAT;
  readonly summary: ManifestSummary;
  readonly manifest: { readonly key: string; readonly size: number; readonly etag: string };
}

export function summarize(m: Manifest): ManifestSummary {
  return { nodeId: m.nodeId, tag: m.tag, kind: m.kind, startedAt: m.startedAt, finishedAt: m.finishedAt, totals: m.totals };
}

/**
 * Stores the record of a manifest just written (create-only). Best effort: a record that cannot be written only
 * costs `list` a full read of that manifest, so a failure here never fails the backup.
 */
export async function writeSummaryRecord(backend: Backend, manifest: Manifest, stored: ObjectInfo, signal?: AbortSignal): Promise<boolean> {
  if (stored.etag === undefined || stored.etag === '') return false;
  const record: SummaryRecord = { format: SUMMARY_FORMAT, summary: summarize(manifest),
    manifest: { key: stored.key, size: stored.size, etag: stored.etag } };
  try {
    await backend.put(summaryKey(manifest.nodeId, manifest.tag), chunksSource([Buffer.from(`${JSON.stringify(record)}\n`)]),
      { signal, createOnly: true });
    return true;
  } catch {
    return false;
  }
}

/** The record's summary when it describes exactly this listed manifest object, else undefined. Pure. */
export function summaryFor(text: string, manifest: ObjectInfo, nodeId: string, tag: string): ManifestSummary | undefined {
  let r: Partial<SummaryRecord>;
  try {
    r = JSON.parse(text) as Partial<SummaryRecord>;
  } catch {
    return undefined;
  }
  const s = r?.summary;
  const m = r?.manifest;
  if (r?.format !== SUMMARY_FORMAT || s === undefined || m === undefined) return undefined;
  if (m.key !== manifest.key || m.size !== manifest.size || manifest.etag === undefined || m.etag !== manifest.etag) return undefined;
  if (s.nodeId !== nodeId || s.tag !== tag || typeof s.kind !== 'string' || typeof s.startedAt !== 'string' ||
    typeof s.finishedAt !== 'string' || typeof s.totals?.files !== 'number' || typeof s.totals.bytes !== 'number') return undefined;
  return s;
}
