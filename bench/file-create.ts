// How a restore's small files are written, alone (no store, no network): 20,000 files of 4-64 KiB, 8 in flight,
// each written to a temp name, mtime set, fsync'd, closed and renamed, as src/restore does.
//   pooled: a promise per call (FileHandle open, write, utimes, sync, close; fs/promises rename): six trips to
//           libuv's thread pool per file (what restore did before src/restore/small-file.ts);
//   sync:   src/restore/small-file.ts's writeDurably (open, write, futimes, close synchronously, only fsync in
//           the pool), then a synchronous rename, as restore does now.
//
//   node bench/file-create.ts pooled|sync DIR [files]        (DIR is emptied first; run each mode a few times)
import fs from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { writeDurably } from '../src/restore/small-file.ts';

const [mode, dir, count] = process.argv.slice(2);
if ((mode !== 'pooled' && mode !== 'sync') || dir === undefined) {
  console.error('usage: node bench/file-create.ts pooled|sync DIR [files]');
  process.exit(2);
}
const FILES = Number(count ?? 20_000);
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const sizes = Array.from({ length: 64 }, (_, i) => 4096 + ((i * 977) % 61_440));
const buffers = sizes.map((n, i) => Buffer.alloc(n, i));
const mtime = new Date(1e12);

async function pooled(tmp: string, data: Buffer): Promise<void> {
  const h = await open(tmp, 'wx');
  try {
    await h.write(data, 0, data.length, 0);
    await h.utimes(mtime, mtime);
    await h.sync();
  } finally {
    await h.close();
  }
}

const started = process.hrtime.bigint();
const before = process.resourceUsage();
let next = 0;
const worker = async (): Promise<void> => {
  while (next < FILES) {
    const i = next++;
    const tmp = `${dir}/.f${i}.tmp`;
    if (mode === 'pooled') {
      await pooled(tmp, buffers[i % 64]!);
      await rename(tmp, `${dir}/f${i}`);
    } else {
      await writeDurably(tmp, buffers[i % 64]!, mtime);
      fs.renameSync(tmp, `${dir}/f${i}`);
    }
  }
};
await Promise.all(Array.from({ length: 8 }, worker));
const after = process.resourceUsage();
console.log(JSON.stringify({
  mode, files: FILES, wallS: Number(process.hrtime.bigint() - started) / 1e9,
  userS: (after.userCPUTime - before.userCPUTime) / 1e6, sysS: (after.systemCPUTime - before.systemCPUTime) / 1e6,
}));
