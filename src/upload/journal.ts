// A local record of the objects a run has confirmed stored, so that a rerun after a crash or failure does not
// send them again. One JSON line per confirmed object; a torn last line (crash mid-write) is ignored.
import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { journalDir } from '../state-dir.ts';
import type { StoredRecord } from './plan.ts';

export interface Journal {
  readonly path: string;
  records(): ReadonlyMap<string, StoredRecord>;
  append(record: StoredRecord): Promise<void>;
  remove(): Promise<void>;
}

export async function openJournal(path: string): Promise<Journal> {
  const records = new Map<string, StoredRecord>();
  for (const record of await readJournal(path)) records.set(record.key, record);
  await mkdir(dirname(path), { recursive: true });
  // One handle opened for appending: each line is a single write(2) with O_APPEND, so concurrent uploads never
  // interleave partial lines and never wait for each other's records.
  let handle: Promise<FileHandle> | undefined;
  const pending = new Set<Promise<unknown>>();
  return {
    path,
    records: () => records,
    async append(record) {
      records.set(record.key, record);
      handle ??= open(path, 'a');
      const write = (await handle).write(`${JSON.stringify(record)}\n`);
      pending.add(write);
      try {
        await write;
      } finally {
        pending.delete(write);
      }
    },
    async remove() {
      await Promise.allSettled(pending);
      if (handle) await (await handle).close();
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
