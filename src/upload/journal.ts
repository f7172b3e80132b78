// A local record of the objects a run has confirmed stored, so that a rerun after a crash or failure does not
// send them again. One JSON line per confirmed object; a torn last line (crash mid-write) is ignored.
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoredRecord } from './plan.ts';

export interface Journal {
  readonly path: string;
  records(): ReadonlyMap<string, StoredRecord>;
  append(record: StoredRecord): Promise<void>;
  remove(): Promise<void>;
}

export async function openJournal(path: string): Promise<Journal> {
  const records = new Map<string, StoredRecord>();
  for (const record of await readRecords(path)) records.set(record.key, record);
  await mkdir(dirname(path), { recursive: true });
  // Appends are serialised so concurrent uploads never interleave partial lines.
  let tail: Promise<void> = Promise.resolve();
  return {
    path,
    records: () => records,
    append(record) {
      records.set(record.key, record);
      tail = tail.then(() => appendFile(path, `${JSON.stringify(record)}\n`));
      return tail;
    },
    async remove() {
      await tail;
      await rm(path, { force: true });
    },
  };
}

async function readRecords(path: string): Promise<StoredRecord[]> {
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
