// A local record of the objects a run has confirmed stored, so that a rerun after a crash or failure does not
// send them again. One JSON line per confirmed object; a torn last line (crash mid-write) is ignored.
// Only a cache: the bucket is the truth (what a rerun reuses is confirmed in the store first), so a journal that
// cannot be read or written (a full or read-only state directory) is warned about once and the run goes on
// without it; it never turns a stored object into a failure.
import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { journalDir } from '../state-dir.ts';
import type { StoredRecord } from './plan.ts';

export interface Journal {
  readonly path: string;
  /** What earlier attempts confirmed (read at open); this run's own records are written, not kept in memory. */
  records(): ReadonlyMap<string, StoredRecord>;
  /** Resolves once the record's line is written, or once writing it has failed (warned about, never thrown). */
  append(record: StoredRecord): Promise<void>;
  /** Removes the file (a failure is warned about, not thrown). */
  remove(): Promise<void>;
}

export interface JournalOptions {
  /** Told, once, that the journal cannot be used from now on and why. */
  readonly warn?: (message: string) => void;
}

export async function openJournal(path: string, options: JournalOptions = {}): Promise<Journal> {
  let broken = false;
  const disable = (what: string, err: unknown): void => {
    if (broken) return;
    broken = true;
    options.warn?.(`cannot ${what} the journal ${path} (${errnoText(err)}); going on without it: the bucket is what ` +
      'counts, and a rerun after a failure sends again what it does not record');
  };
  const records = new Map<string, StoredRecord>();
  try {
    for (const record of await readJournal(path)) records.set(record.key, record);
    await mkdir(dirname(path), { recursive: true });
  } catch (err) {
    disable('use', err);
  }
  // Group commit: lines that arrive while a write is in flight go out together in the next single write(2) on
  // an O_APPEND handle, so thousands of small files cost a few hundred writes, and a line is never torn by
  // another (only by a crash, which readJournal tolerates).
  let handle: Promise<FileHandle> | undefined;
  let lines: string[] = [];
  let waiters: Array<() => void> = [];
  let flushing: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    while (lines.length > 0) {
      // Lines of files finishing in this turn of the event loop join the write: a write that completes at once
      // (io_uring) otherwise went out with one line each, ~20,000 writes for W2 (bench/README.md, Profile, round 2).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const text = lines.join('');
      const batch = waiters;
      lines = [];
      waiters = [];
      try {
        if (!broken) {
          handle ??= open(path, 'a');
          await (await handle).write(text);
        }
      } catch (err) {
        disable('write', err);
        const failed = handle;
        handle = undefined;
        await failed?.then((h) => h.close()).catch(() => {});
      }
      for (const resolve of batch) resolve();
    }
    flushing = undefined;
  };
  return {
    path,
    records: () => records,
    append(record) {
      // Also what keeps flush() from ever finishing synchronously (before `flushing` is assigned): it starts only
      // with a write to make, which it awaits.
      if (broken) return Promise.resolve();
      return new Promise<void>((resolve) => {
        lines.push(`${JSON.stringify(record)}\n`);
        waiters.push(resolve);
        flushing ??= flush();
      });
    },
    async remove() {
      await flushing;
      if (handle) await handle.then((h) => h.close()).catch(() => {});
      handle = undefined;
      await rm(path, { force: true }).catch((err: unknown) => {
        broken = false; // this is news even after a write failure: a stale journal is left behind
        disable('remove', err);
      });
    },
  };
}

function errnoText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !text.startsWith(code) ? `${code}: ${text}` : text;
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
