// Deterministic Cassandra-like snapshot trees for the side-by-side benchmark (issue 5).
//
//   node bench/generate.ts <root> [w1|w2|w3|w4|w5|mem|all]...
//
// Layout: <root>/<workload>/<ks>/<table>-<32 hex>/snapshots/<tag>/nb-<gen>-big-<Component> (8 components per
// SSTable), and <root>/w5/<ks>/<table>-<id>/backups/… for W5. Same seed → same names, sizes and bytes.
// Content is pseudo-random (incompressible): one 1 MiB seeded block, with 16 bytes changed per written block
// (file number + block number), so no two blocks of the tree are equal and writing runs at disk speed.
// W4 is a second snapshot (tag `w4`) of the W3 tree: 98% of the SSTables are hard links (fs.linkSync) of the
// W3 files, 2% are replaced by new generations with new bytes. It prints a JSON summary per workload.
import fs from 'node:fs';
import path from 'node:path';
import { BLOCK, rng, seededBlock, stampBlock } from './content.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const TAGS = { w1: 'w1', w2: 'w2', w3: 'w3', w4: 'w4' } as const;
export const COMPONENTS = ['Data.db', 'Index.db', 'Filter.db', 'Summary.db', 'Statistics.db', 'CompressionInfo.db', 'Digest.crc32', 'TOC.txt'] as const;

function hex32(r: () => number): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0');
  return s;
}

function logUniform(r: () => number, lo: number, hi: number): number {
  return Math.round(Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo))));
}

// ---------- content ----------
const block = seededBlock();
let fileCounter = 0;
let bytesWritten = 0;

function writeFile(file: string, size: number): void {
  const fileNo = ++fileCounter;
  const fd = fs.openSync(file, 'w');
  try {
    let off = 0;
    let blockNo = 0;
    while (off < size) {
      const n = Math.min(BLOCK, size - off);
      // Make this block unique: file number and block number in the first 16 bytes.
      stampBlock(block, fileNo, blockNo);
      let done = 0;
      while (done < n) done += fs.writeSync(fd, block, done, n - done, off + done);
      off += n;
      blockNo++;
    }
  } finally {
    fs.closeSync(fd);
  }
  bytesWritten += size;
}

/** Sizes of the 8 components, plausible relative to Data.db (Cassandra 4/5 `nb` format, LZ4, 64 KiB chunks). */
function componentSizes(dataSize: number, r: () => number): Record<(typeof COMPONENTS)[number], number> {
  return {
    'Data.db': dataSize,
    'Index.db': Math.max(512, Math.round(dataSize * (0.01 + r() * 0.02))),
    'Filter.db': Math.max(64, Math.round(dataSize * (0.0005 + r() * 0.002))),
    'Summary.db': Math.max(64, Math.round(dataSize * 0.0002)),
    'Statistics.db': 4 * KiB + Math.floor(r() * 8 * KiB),
    'CompressionInfo.db': 48 + 8 * Math.ceil(dataSize / (64 * KiB)),
    'Digest.crc32': 10,
    'TOC.txt': 92,
  };
}

interface Sstable {
  readonly dir: string; // snapshot directory
  readonly gen: number;
  readonly sizes: Record<string, number>;
}

function tableDir(root: string, ks: string, table: string, r: () => number): string {
  return path.join(root, ks, `${table}-${hex32(r)}`);
}

function writeSstable(t: Sstable): number {
  fs.mkdirSync(t.dir, { recursive: true });
  let total = 0;
  for (const c of COMPONENTS) {
    writeFile(path.join(t.dir, `nb-${t.gen}-big-${c}`), t.sizes[c]!);
    total += t.sizes[c]!;
  }
  return total;
}

interface Summary { workload: string; root: string; files: number; bytes: number; note?: string }

// ---------- W1: one 2 GiB Data.db ----------
function w1(root: string): Summary {
  const r = rng(1);
  const dir = path.join(tableDir(root, 'bench', 'big', r), 'snapshots', TAGS.w1);
  const sizes = componentSizes(2 * GiB, r);
  const bytes = writeSstable({ dir, gen: 1, sizes });
  return { workload: 'w1', root, files: 8, bytes };
}

// ---------- W2: 20,000 files of 4–64 KiB (2,500 SSTables over 50 tables) ----------
function w2(root: string): Summary {
  const r = rng(2);
  let files = 0;
  let bytes = 0;
  for (let t = 0; t < 50; t++) {
    const dir = path.join(tableDir(root, `ks${t % 5}`, `t${t}`, r), 'snapshots', TAGS.w2);
    for (let g = 1; g <= 50; g++) {
      const sizes: Record<string, number> = {};
      for (const c of COMPONENTS) sizes[c] = logUniform(r, 4 * KiB, 64 * KiB);
      bytes += writeSstable({ dir, gen: g, sizes });
      files += 8;
    }
  }
  return { workload: 'w2', root, files, bytes };
}

// ---------- W3: mixed ~8 GiB snapshot, long tail of Data.db sizes ----------
/** 300 SSTables: 2×1.5 GiB, 4×512 MiB, 10×128 MiB, 30×32 MiB, 80×4 MiB, 174 log-uniform 16 KiB–2 MiB. */
function w3DataSizes(r: () => number): number[] {
  const out: number[] = [];
  const tier = (n: number, size: () => number): void => { for (let i = 0; i < n; i++) out.push(size()); };
  tier(2, () => 1.5 * GiB);
  tier(4, () => 512 * MiB + Math.floor(r() * 64 * MiB));
  tier(10, () => 128 * MiB + Math.floor(r() * 32 * MiB));
  tier(30, () => 32 * MiB + Math.floor(r() * 16 * MiB));
  tier(80, () => 4 * MiB + Math.floor(r() * 4 * MiB));
  tier(174, () => logUniform(r, 16 * KiB, 2 * MiB));
  // shuffle (Fisher–Yates) so big SSTables are spread over tables
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface W3Table { readonly dir: string; readonly gens: { gen: number; sizes: Record<string, number> }[] }

function w3Plan(root: string): W3Table[] {
  const r = rng(3);
  const sizes = w3DataSizes(r);
  const tables: W3Table[] = [];
  for (let t = 0; t < 30; t++) tables.push({ dir: tableDir(root, `ks${t % 3}`, `t${t}`, r), gens: [] });
  sizes.forEach((d, i) => {
    const table = tables[i % 30]!;
    table.gens.push({ gen: 100 + table.gens.length, sizes: componentSizes(d, r) });
  });
  return tables;
}

function w3(root: string): Summary {
  let files = 0;
  let bytes = 0;
  for (const t of w3Plan(root)) {
    for (const g of t.gens) {
      bytes += writeSstable({ dir: path.join(t.dir, 'snapshots', TAGS.w3), gen: g.gen, sizes: g.sizes });
      files += 8;
    }
  }
  return { workload: 'w3', root, files, bytes };
}

// ---------- W4: second snapshot of W3: 2% new SSTables, the rest hard links ----------
function w4(root: string): Summary {
  const r = rng(4);
  const plan = w3Plan(root);
  const all = plan.flatMap((t) => t.gens.map((g) => ({ t, g })));
  // 2% of 300 = 6 SSTables, replaced by compaction output; picked among SSTables ≤ 160 MiB (typical compactions).
  const candidates = all.filter((x) => x.g.sizes['Data.db']! <= 160 * MiB);
  const replaced = new Set<(typeof all)[number]>();
  while (replaced.size < Math.round(all.length * 0.02)) replaced.add(candidates[Math.floor(r() * candidates.length)]!);
  let files = 0;
  let linkedBytes = 0;
  let newBytes = 0;
  for (const x of all) {
    const from = path.join(x.t.dir, 'snapshots', TAGS.w3);
    const to = path.join(x.t.dir, 'snapshots', TAGS.w4);
    fs.mkdirSync(to, { recursive: true });
    if (replaced.has(x)) {
      newBytes += writeSstable({ dir: to, gen: 1000 + x.g.gen, sizes: componentSizes(x.g.sizes['Data.db']!, r) });
    } else {
      for (const c of COMPONENTS) {
        const name = `nb-${x.g.gen}-big-${c}`;
        fs.linkSync(path.join(from, name), path.join(to, name));
        linkedBytes += x.g.sizes[c]!;
      }
    }
    files += 8;
  }
  return { workload: 'w4', root, files, bytes: linkedBytes + newBytes, note: `new (changed) bytes ${newBytes} in ${replaced.size} SSTables; ${linkedBytes} bytes hard-linked` };
}

// ---------- W5: 200 small files in backups/ ----------
function w5(root: string): Summary {
  const r = rng(5);
  let bytes = 0;
  for (let t = 0; t < 5; t++) {
    const dir = path.join(tableDir(root, 'ks0', `t${t}`, r), 'backups');
    for (let g = 1; g <= 5; g++) {
      const sizes: Record<string, number> = {};
      for (const c of COMPONENTS) sizes[c] = logUniform(r, 1 * KiB, 64 * KiB);
      bytes += writeSstable({ dir, gen: g, sizes });
    }
  }
  return { workload: 'w5', root, files: 200, bytes };
}

// ---------- memory check: 100,000 tiny files (a 20 GiB sparse file is made by run-memory.sh with truncate) ----------
function mem100k(root: string): Summary {
  const r = rng(6);
  let bytes = 0;
  for (let t = 0; t < 100; t++) {
    const dir = path.join(tableDir(root, 'ks0', `t${t}`, r), 'snapshots', 'mem');
    for (let g = 1; g <= 125; g++) {
      const sizes: Record<string, number> = {};
      for (const c of COMPONENTS) sizes[c] = 16 + Math.floor(r() * 1024);
      bytes += writeSstable({ dir, gen: g, sizes });
    }
  }
  return { workload: 'mem100k', root, files: 100_000, bytes };
}

const GENERATORS: Record<string, (root: string) => Summary> = { w1, w2, w3, w4, w5, mem100k };

function main(): void {
  const [root, ...which] = process.argv.slice(2);
  if (root === undefined) throw new Error('usage: node bench/generate.ts <root> [w1|w2|w3|w4|w5|mem100k|all]...');
  const list = which.length === 0 || which.includes('all') ? ['w1', 'w2', 'w3', 'w4', 'w5'] : which;
  for (const w of list) {
    const gen = GENERATORS[w];
    if (gen === undefined) throw new Error(`unknown workload ${w}`);
    // W4 lives in W3's tree (a second tag of the same tables).
    const dir = path.join(root, w === 'w4' ? 'w3' : w);
    if (w !== 'w4') {
      if (fs.existsSync(dir)) { console.log(JSON.stringify({ workload: w, root: dir, skipped: 'exists' })); continue; }
    } else if (fs.existsSync(path.join(root, '.w4-done'))) {
      console.log(JSON.stringify({ workload: w, root: dir, skipped: 'exists' })); continue;
    }
    const t0 = Date.now();
    const before = bytesWritten;
    const summary = gen(dir);
    if (w === 'w4') fs.writeFileSync(path.join(root, '.w4-done'), '');
    const secs = (Date.now() - t0) / 1000;
    console.log(JSON.stringify({ ...summary, seconds: secs, writtenMBps: Math.round((bytesWritten - before) / 1e6 / secs) }));
  }
}

main();
