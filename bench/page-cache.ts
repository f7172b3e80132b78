// Cold reads for the benchmarks: each file is dropped from the page cache (posix_fadvise DONTNEED, through
// Python's os module, after a sync so that dirty pages can go), with no root side effects.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Evicts `paths` from the page cache; `workDir` holds the list handed to Python. */
export function evictFromPageCache(paths: readonly string[], workDir: string): void {
  const list = path.join(workDir, 'evict.txt');
  fs.writeFileSync(list, paths.join('\n'));
  spawnSync('sync');
  spawnSync('python3', ['-c', `
import os,sys
for p in open(sys.argv[1]).read().split('\\n'):
    if not p: continue
    fd=os.open(p,os.O_RDONLY)
    os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)
    os.close(fd)
`, list], { stdio: 'inherit' });
}
