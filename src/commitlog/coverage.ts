// Which archived segments a point-in-time restore needs, and whether they provably cover the time from a
// snapshot to the target. Pure.
//
// What Cassandra does (5.0, CommitLogArchiver/CommitLogReplayer): archive_command runs for a segment when it is
// closed (full, or at drain) and, at start-up, for every segment left in the commit-log directory (a crash);
// segment ids are consecutive within one run of the node and start from the time in milliseconds at start-up;
// at replay, mutations already in the table's SSTables (their commit-log intervals) are skipped and those with a
// timestamp after restore_point_in_time are not applied. So writes after a snapshot started are in the segments
// archived after it started, and the writes up to TIME in those archived up to the first one archived at or
// after TIME (every write in a segment precedes its archiving).
import type { ArchivedSegment } from './catalog.ts';

export type Coverage =
  | { readonly ok: true; readonly segments: readonly ArchivedSegment[] }
  | { readonly ok: false; readonly gap: string };

/** A restart's first segment carries an id taken from the clock at most this long after Cassandra started. */
const START_TO_FIRST_SEGMENT_MS = 15 * 60 * 1000;

export function coverageFor(all: readonly ArchivedSegment[], fromMs: number, untilMs: number): Coverage {
  const segs = [...all].sort((a, b) => a.id - b.id);
  const at = (s: ArchivedSegment): number => Date.parse(s.archivedAt);
  const last = segs.findIndex((s) => at(s) >= untilMs);
  if (last < 0) {
    const newest = segs.at(-1);
    return { ok: false, gap: newest === undefined ? 'no commit-log segment of this node is archived in the store'
      : `no segment archived at or after that time: the newest, ${newest.name}, was archived at ${newest.archivedAt} ` +
        '(a segment is archived when it fills or at nodetool drain; then run cass-backup-run commitlogs)' };
  }
  let first = segs.findIndex((s) => at(s) >= fromMs);
  if (first > last) first = last;
  const before = first > 0 ? segs[first - 1] : undefined;
  const firstSeg = segs[first]!;
  const joined = before !== undefined && linked(before, firstSeg);
  const startsLifetime = runStart(firstSeg) !== undefined && runStart(firstSeg)! <= fromMs && isRunsFirst(firstSeg);
  if (!joined && !startsLifetime) {
    return { ok: false, gap: `archiving is not known to cover the time from the snapshot (${new Date(fromMs).toISOString()}) to ` +
      `${firstSeg.name}: ${before === undefined ? 'no segment archived before it' : `${before.name} → ${firstSeg.name} ${jumpWhy(before, firstSeg)}`}` };
  }
  for (let i = first; i < last; i++) {
    const a = segs[i]!;
    const b = segs[i + 1]!;
    if (!linked(a, b)) return { ok: false, gap: `segments missing between ${a.name} (archived ${a.archivedAt}) and ${b.name} (archived ${b.archivedAt}): ${jumpWhy(a, b)}` };
  }
  return { ok: true, segments: segs.slice(first, last + 1) };
}

/** b follows a with nothing lost: the next id, or the first segment of a later run of Cassandra. */
function linked(a: ArchivedSegment, b: ArchivedSegment): boolean {
  if (b.id === a.id + 1) return true;
  const start = runStart(b);
  return start !== undefined && isRunsFirst(b) && start > a.id;
}

function runStart(s: ArchivedSegment): number | undefined {
  return s.cassandraStartedAt === undefined ? undefined : Date.parse(s.cassandraStartedAt);
}

/** The segment's id was taken from the clock when the run that archived it began (the first of that run). */
function isRunsFirst(s: ArchivedSegment): boolean {
  const start = runStart(s);
  return start !== undefined && s.id >= start && s.id - start <= START_TO_FIRST_SEGMENT_MS;
}

function jumpWhy(a: ArchivedSegment, b: ArchivedSegment): string {
  if (b.id > a.id + 1 && b.id - a.id <= 10_000) return `${b.id - a.id - 1} segment(s) with ids ${a.id + 1}…${b.id - 1} were never stored`;
  return 'the node restarted, and its commit log in between was not archived (a run without archive_command, or a lost segment)';
}

/** Where the archived log of a node gives a continuous history: [from, to] windows of archive times. */
export function coveredWindows(all: readonly ArchivedSegment[]): { from: string; to: string; segments: number }[] {
  const segs = [...all].sort((a, b) => a.id - b.id);
  const out: { from: string; to: string; segments: number }[] = [];
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const cur = out.at(-1);
    if (cur !== undefined && i > 0 && linked(segs[i - 1]!, s)) {
      cur.to = s.archivedAt;
      cur.segments += 1;
    } else {
      // A window opens where archiving began: the run's start when this is its first segment, else this segment's archiving.
      const from = isRunsFirst(s) ? s.cassandraStartedAt! : s.archivedAt;
      out.push({ from, to: s.archivedAt, segments: 1 });
    }
  }
  return out;
}
