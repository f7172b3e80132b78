// The snapshots this tool took and has not cleared yet, kept in the state directory. After a crash, a later run
// finds them here and clears those older than --stale-snapshot-age (their upload can no longer be resumed).
// Each also has a record of what it held when it was enumerated (data directories and files), so that a resumed
// upload sends exactly that snapshot, from the same directories, or refuses.
import { readFile, writeFile, rename, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What a snapshot held when its upload first enumerated it. */
export interface SnapshotRecord {
  readonly dataDirs: readonly string[];
  readonly files: readonly RecordedFile[];
}

export interface RecordedFile {
  readonly relPath: string;
  /** Index into dataDirs. */
  readonly dataDir: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

export interface SnapshotRegistry {
  add(tag: string, at: Date): Promise<void>;
  /** Forgets the tag and its record. */
  remove(tag: string): Promise<void>;
  /** Tags taken before `cutoff`. */
  olderThan(cutoff: Date): Promise<string[]>;
  record(tag: string, record: SnapshotRecord): Promise<void>;
  recorded(tag: string): Promise<SnapshotRecord | undefined>;
}

type Entries = Record<string, string>;

export function fileSnapshotRegistry(path: string, recordsDir = join(dirname(path), 'snapshot-records')): SnapshotRegistry {
  const read = async (): Promise<Entries> => {
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Entries) : {};
    } catch {
      return {};
    }
  };
  // Tags are validated snapshot tags (no slash): safe as file names.
  const recordPath = (tag: string): string => join(recordsDir, `${tag}.json`);
  const write = async (entries: Entries): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(entries, null, 1)}\n`);
    await rename(tmp, path);
  };
  return {
    async add(tag, at) {
      await write({ ...(await read()), [tag]: at.toISOString() });
    },
    async remove(tag) {
      const entries = await read();
      delete entries[tag];
      await write(entries);
      await rm(recordPath(tag), { force: true });
    },
    async record(tag, record) {
      await mkdir(recordsDir, { recursive: true });
      const target = recordPath(tag);
      const tmp = `${target}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(record)}\n`);
      await rename(tmp, target);
    },
    async recorded(tag) {
      try {
        const v = JSON.parse(await readFile(recordPath(tag), 'utf8')) as Partial<SnapshotRecord>;
        return Array.isArray(v.dataDirs) && Array.isArray(v.files) ? (v as SnapshotRecord) : undefined;
      } catch {
        return undefined;
      }
    },
    async olderThan(cutoff) {
      return Object.entries(await read()).filter(([, at]) => Date.parse(at) < cutoff.getTime()).map(([tag]) => tag);
    },
  };
}
