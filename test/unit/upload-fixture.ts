// The directories and local files the upload unit tests work on: a data directory, a file:// destination and a
// state directory under one fresh temporary root.
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LocalFile } from '../../src/domain.ts';

export function freshUploadDirs(prefix: string): { dataDir: string; destDir: string; stateDir: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  return { dataDir, destDir: join(root, 'dest'), stateDir: join(root, 'state') };
}

/** A file under dataDir as the enumerator would see it; written first when content is given. */
export function localFileIn(dataDir: string, relPath: string, content?: string | Buffer): LocalFile {
  const absPath = join(dataDir, relPath);
  if (content !== undefined) {
    mkdirSync(dirname(absPath), { recursive: true });
    writeFileSync(absPath, content);
  }
  const st = statSync(absPath);
  return { dataDir, relPath, absPath, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
}
