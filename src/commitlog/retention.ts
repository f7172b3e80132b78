// Which archived segments purge may expire: those no kept snapshot's point-in-time window needs. A kept snapshot
// needs every segment archived since it started, and the segment archived just before (the proof that nothing is
// missing at its start, commitlog/coverage.ts); so everything older than that one goes, with every commit-log
// manifest whose segments are all gone. Segments no manifest names (an upload killed before its manifest) are
// left alone: a later commitlogs run stores them again create-only and names them. Pure.
import type { CommitLogCatalog } from './catalog.ts';

export interface CommitLogExpiry {
  readonly segmentKeys: string[];
  readonly manifestKeys: string[];
  readonly bytes: number;
  /** The oldest segment kept (the start of the covered history that stays), when any. */
  readonly oldestKept: string | undefined;
}

export function planCommitLogExpiry(catalog: CommitLogCatalog, oldestKeptSnapshotStartMs: number | undefined): CommitLogExpiry {
  const none: CommitLogExpiry = { segmentKeys: [], manifestKeys: [], bytes: 0, oldestKept: catalog.segments[0]?.name };
  // A damaged commit-log manifest or no kept snapshot: nothing can be judged unneeded.
  if (oldestKeptSnapshotStartMs === undefined || catalog.problems.length > 0) return none;
  const segs = catalog.segments; // id order
  const firstNeeded = segs.findIndex((s) => Date.parse(s.archivedAt) >= oldestKeptSnapshotStartMs);
  const keepFrom = firstNeeded < 0 ? Math.max(segs.length - 1, 0) : Math.max(firstNeeded - 1, 0);
  const old = new Set(segs.slice(0, keepFrom).map((s) => s.key));
  // A manifest goes only with all its segments; a segment only when no manifest that stays names it.
  const [gone, staying] = [catalog.manifests.filter((m) => m.segments.every((k) => old.has(k))),
    catalog.manifests.filter((m) => !m.segments.every((k) => old.has(k)))];
  const named = new Set(staying.flatMap((m) => m.segments));
  const expired = segs.filter((s) => old.has(s.key) && !named.has(s.key));
  return {
    segmentKeys: expired.map((s) => s.key),
    manifestKeys: gone.map((m) => m.key),
    bytes: expired.reduce((n, s) => n + s.size, 0),
    oldestKept: segs[keepFrom]?.name,
  };
}
