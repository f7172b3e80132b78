// The local file operations commands need, behind a port so commands stay free of fs calls.
import { createReadStream } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import type { LocalFile } from './domain.ts';
import type { LocalFilesPort } from './commands/context.ts';
import { fileSource } from './storage/source.ts';
import { crc32cUpdate } from './checksum/crc32c.ts';

export function createLocalFiles(): LocalFilesPort {
  return {
    openSource: (file: LocalFile) => fileSource(file.absPath, file.size),
    async hashFile(file: LocalFile): Promise<number> {
      let crc = 0;
      for await (const chunk of createReadStream(file.absPath, { highWaterMark: 1024 * 1024 })) {
        crc = crc32cUpdate(crc, chunk as Buffer);
      }
      return crc;
    },
    async identity(absPath: string) {
      try {
        const st = await lstat(absPath);
        return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    remove: (absPath: string) => unlink(absPath),
  };
}
