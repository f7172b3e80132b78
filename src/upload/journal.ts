// A local record of the objects a run has confirmed stored, so that a rerun after a crash or failure does not
// send them again. One JSON line per confirmed object; a torn last line (crash mid-write) is ignored.
import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { journalDir } from '../state-dir.ts';
import type { StoredRecord } from './plan.ts';

export interface Journal {
  readonly path: string;
  /** What earlier attempts confirmed (read at open); this run's own records are written, not kept in memory. */
  records(): ReadonlyMap<string, StoredRecord>;
  /** Resolves once the record's line is written. */
  append(record: StoredRecord): Promise<void>;
  remove(): Promise<void>;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export async function openJournal(path: string): Promise<Journal> {
  const records = new Map<string, StoredRecord>();
  for (const record of await readJournal(path)) records.set(record.key, record);
  await mkdir(dirname(path), { recursive: true });
  // Group commit: lines that arrive while a write is in flight go out together in the next single write(2) on
  // an O_APPEND handle, so thousands of small files cost a few hundred writes, and a line is never torn by
  // another (only by a crash, which readJournal tolerates).
  let handle: Promise<FileHandle> | undefined;
  let lines: string[] = [];
  let waiters: Waiter[] = [];
  let flushing: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    while (lines.length > 0) {
      const text = lines.join('');
      const batch = waiters;
      lines = [];
      waiters = [];
      try {
        handle ??= open(path, 'a');
        await (await handle).write(text);
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    flushing = undefined;
  };
  return {
    path,
    records: () => records,
    append(record) {
      return new Promise<void>((resolve, reject) => {
        lines.push(`${JSON.stringify(record)}\n`);
        waiters.push({ resolve, reject });
        flushing ??= flush();
      });
    },
    async remove() {
      await flushing;
      if (handle) await (await handle).close().catch(() => {});
      handle = undefined;
      await rm(path, { force: true });
    },
  };
}

/** The records of one journal file; a torn line (crash mid-write) is skipped. */
export async function readJournal(path: string): Promise<StoredRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: StoredRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as StoredRecord;
      if (typeof r.key === 'string' && typeof r.size === 'number' && typeof r.crc32c === 'string') out.push(r);
    } catch {
      // a line torn by a crash: that object will simply be sent again
    }
  }
  return out;
}

/** Every journal of a node (each an unfinished backup), by name (`snapshot-<tag>`, `incremental`). */
export async function readNodeJournals(stateDir: string, nodeId: string): Promise<{ name: string; records: StoredRecord[] }[]> {
  const dir = journalDir(stateDir, nodeId);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const out: { name: string; records: StoredRecord[] }[] = [];
  for (const file of names.filter((n) => n.endsWith('.jsonl')).sort()) {
    out.push({ name: file.slice(0, -'.jsonl'.length), records: await readJournal(join(dir, file)) });
  }
  return out;
}
