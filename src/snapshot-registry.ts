// The snapshots this tool took and has not cleared yet, kept in the state directory. After a crash, a later run
// finds them here and clears those older than --stale-snapshot-age (their upload can no longer be resumed).
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface SnapshotRegistry {
  add(tag: string, at: Date): Promise<void>;
  remove(tag: string): Promise<void>;
  /** Tags taken before `cutoff`. */
  olderThan(cutoff: Date): Promise<string[]>;
}

type Entries = Record<string, string>;

export function fileSnapshotRegistry(path: string): SnapshotRegistry {
  const read = async (): Promise<Entries> => {
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Entries) : {};
    } catch {
      return {};
    }
  };
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
    },
    async olderThan(cutoff) {
      return Object.entries(await read()).filter(([, at]) => Date.parse(at) < cutoff.getTime()).map(([tag]) => tag);
    },
  };
}
