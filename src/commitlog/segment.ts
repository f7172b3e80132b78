// Cassandra's commit-log segment names and what they tell (CommitLogDescriptor): `CommitLog-<version>-<id>.log`,
// where id is a counter started from the time in milliseconds when the node's commit log started (so ids grow
// across restarts and are consecutive within one run of the node). Pure.

export interface SegmentName {
  readonly name: string;
  /** The commit-log format version (8 for Cassandra 5.0). */
  readonly version: number;
  /** The segment id: consecutive within one run of the node, jumping at a restart. */
  readonly id: number;
}

const SEGMENT = /^CommitLog-(\d{1,3})-(\d{1,19})\.log$/;

/** The descriptor of a segment file name, or undefined when the name is not one (e.g. a CDC `_cdc.idx`). */
export function parseSegmentName(name: string): SegmentName | undefined {
  const m = SEGMENT.exec(name);
  if (!m) return undefined;
  const id = Number(m[2]);
  if (!Number.isSafeInteger(id)) return undefined;
  return { name, version: Number(m[1]), id };
}

/** Segments in id order (which is Cassandra's write order). */
export function byId<T extends { readonly id: number }>(a: T, b: T): number {
  return a.id - b.id;
}
