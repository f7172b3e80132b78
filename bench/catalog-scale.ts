// Issue 15 point 7, the catalog at scale: a synthetic catalog of one node, written into the store with the
// project's own manifest writer (finishManifest + writeManifest, so every reader accepts it), then `list`,
// `verify` and `purge` timed with the real CLI as a subprocess, and their requests counted.
//
// Layout (dedup, as `--layout dedup` writes it: `<node>/.sstables/<ks>/<table-dir>/<file>`, one object per
// distinct SSTable file, referenced by every manifest that contains it):
//   - a pool of N = purge-objects + verify-files distinct objects (16–63 bytes each), spread round-robin over
//     `--tables` table directories (object j in table j % tables, so a backup touches every table);
//   - backups 0 … B-2: each names a window of `--objects-per-backup` P consecutive pool objects, shifted by
//     S = ceil((N - V - P) / (B - 2)) per backup (a slowly changing data set: most objects shared);
//   - backup B-1, the newest: names the last V = `--verify-files` pool objects (the verify target).
//   References = (B-1)·P + V (2,018,000 with the defaults) over N distinct objects (120,000).
//   `purge --keep-last 1` keeps the newest backup, so it must delete exactly the N - V objects only the others
//   name (100,000) and their B-1 manifests, and nothing the kept backup names: the script checks both.
//
//   source /work/main/.testenv/env.sh && npx tsc -p tsconfig.json && \
//     node bench/catalog-scale.ts [--targets file,s3] [--backups 1000] [--objects-per-backup 2000] \
//       [--purge-objects 100000] [--verify-files 20000] [--tables 100] [--root /tmp/cbr-bench-catalog] [--dist DIR]
//   Quick run: --backups 50 --objects-per-backup 200 --purge-objects 5000 --verify-files 2000
//
// S3 requests are counted by a recording proxy between the CLI and versitygw (test/support/recording-proxy.ts).
// file:// objects are written with plain fs calls (the local backend's own format: a file per key), S3 objects
// with the project's backend; the manifests record each object's size, CRC32C and the ETag the store lists.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseDestination } from '../src/config/destination.ts';
import type { Backend } from '../src/storage/backend.ts';
import { startRecordingProxy, type RecordedRequest } from '../test/support/recording-proxy.ts';
import { openStore, tagOf, writeSyntheticCatalog, type SyntheticCatalog } from '../test/support/synthetic-catalog.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const B = Number(arg('backups', '1000'));
const P = Number(arg('objects-per-backup', '2000'));
const PURGE = Number(arg('purge-objects', '100000'));
const V = Number(arg('verify-files', '20000'));
const TABLES = Number(arg('tables', '100'));
const TARGETS = arg('targets', 'file,s3').split(',');
const ROOT = arg('root', '/tmp/cbr-bench-catalog');
const REPO = path.resolve(import.meta.dirname, '..');
const DIST = path.resolve(arg('dist', path.join(REPO, 'dist')));
const N = PURGE + V;
const S = Math.max(1, Math.ceil((N - V - P) / Math.max(1, B - 2)));
const NODE = 'scale-node';
if (B < 3 || P < 1 || V < 1 || PURGE < 1) throw new Error('need --backups ≥ 3 and positive sizes');

interface Row { target: string; what: string; wall: number; cpu: number; detail: string }
const rows: Row[] = [];

async function build(target: string, dest: string, store: Backend): Promise<SyntheticCatalog> {
  const t0 = Date.now();
  const catalog = await writeSyntheticCatalog(store, { nodeId: NODE, backups: B, perBackup: P, shift: S, newest: V, objects: N, tables: TABLES },
    target === 'file' ? (parseDestination(dest) as { path: string }).path : undefined);
  console.log(`${target}: ${N} distinct objects in ${TABLES} table dirs, ${B} manifests naming ${catalog.references} objects ` +
    `(window ${P}, shift ${S}; the newest names ${V}), written in ${((Date.now() - t0) / 1000).toFixed(1)} s to ${dest}`);
  return catalog;
}

interface Timed { wall: number; cpu: number; code: number; stdout: string; stderrLines: { at: number; line: string }[] }

/** The CLI under GNU time; stderr lines are stamped as they arrive (the deleting phase of purge is timed by them). */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const timeFile = path.join(ROOT, `time-${process.pid}.txt`);
    const child = spawn('/usr/bin/time', ['-o', timeFile, '-f', '%e %U %S', process.execPath, path.join(DIST, 'main.js'), ...args],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let partial = '';
    const stderrLines: Timed['stderrLines'] = [];
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) stderrLines.push({ at: Date.now(), line });
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const [e, u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
      resolve({ wall: e ?? NaN, cpu: (u ?? 0) + (s ?? 0), code: code ?? -1, stdout, stderrLines });
    });
  });
}

function countBy(requests: readonly RecordedRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) {
    const u = new URL(r.url, 'http://x');
    const kind = r.method === 'POST' && u.searchParams.has('delete') ? 'DeleteObjects'
      : r.method === 'GET' && u.searchParams.get('list-type') === '2' ? 'LIST' : r.method;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

const fmt = (c: Record<string, number>) => Object.entries(c).sort().map(([k, v]) => `${v} ${k}`).join(', ') || '—';

async function measure(target: string): Promise<void> {
  const run = `catalog-scale-${Date.now().toString(36)}`;
  const dest = target === 's3' ? `s3://${process.env.CBR_S3_BUCKET}/${run}` : `file://${path.join(ROOT, run)}`;
  const store = await openStore(dest);
  const { keyOf } = await build(target, dest, store);
  const proxy = target === 's3' ? await startRecordingProxy(process.env.CBR_S3_ENDPOINT!, { flavour: 's3' }) : undefined;
  const stateDir = path.join(ROOT, `${run}-state`);
  mkdirSync(stateDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_STATE_DIR: stateDir,
    AWS_ACCESS_KEY_ID: process.env.CBR_S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.CBR_S3_SECRET_KEY,
    ...(proxy ? { CASS_BACKUP_S3_ENDPOINT: proxy.endpoint } : {}),
  };
  const common = ['--dest', dest, '--node-id', NODE];
  const step = async (what: string, args: string[], detail: (r: Timed, requests: Record<string, number>) => string) => {
    const before = proxy?.requests.length ?? 0;
    const r = await cli([...args, ...common], env);
    const requests = countBy(proxy?.requests.slice(before) ?? []);
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderrLines.map((l) => l.line).join('\n')}\n${r.stdout.slice(0, 2000)}`);
    rows.push({ target, what, wall: r.wall, cpu: r.cpu, detail: detail(r, requests) });
    console.log(`  ${target} ${what}: ${r.wall.toFixed(2)} s, ${r.cpu.toFixed(2)} CPU-s; ${rows.at(-1)!.detail}`);
    return r;
  };
  const listed = (r: Timed, q: Record<string, number>) => {
    const doc = JSON.parse(r.stdout) as { backups: { complete: boolean }[] };
    return `${doc.backups.length} backups (${doc.backups.filter((b) => b.complete).length} complete)${proxy ? `; requests: ${fmt(q)}` : ''}`;
  };
  await step('list, cold (empty state dir)', ['list', '--json'], listed);
  await step('list, warm (summaries cached)', ['list', '--json'], listed);
  await step(`verify of the ${V}-file backup`, ['verify', tagOf(B - 1), '--json'], (r, q) => {
    const doc = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean; objects: number; checkedBy: Record<string, number>; lookups?: { listings: number; stats: number } };
    return `ok ${doc.ok}, ${doc.objects} objects, checked by ${JSON.stringify(doc.checkedBy)}; ` +
      (proxy ? `requests: ${fmt(q)}` : `store calls: ${doc.lookups ? `${doc.lookups.listings} directory listings, ${doc.lookups.stats} stats` : `a stat per object`}`);
  });
  await step(`purge --keep-last 1 --yes (${N - V} objects)`, ['purge', '--keep-last', '1', '--yes'], (r, q) => {
    const manifestsAt = r.stderrLines.find((l) => /deleted \d+ manifest/.test(l.line))?.at;
    const lastAt = r.stderrLines.filter((l) => /deleted \d+ of \d+ object/.test(l.line)).at(-1)?.at;
    const deleted = N - V;
    const phase = manifestsAt !== undefined && lastAt !== undefined ? (lastAt - manifestsAt) / 1000 : NaN;
    const batches = q.DeleteObjects ?? 0;
    return `deleting phase ${phase.toFixed(2)} s = ${Math.round(deleted / phase)} objects/s, ${Math.round(deleted / r.wall)} objects/s over the whole run` +
      (proxy ? `; ${batches} DeleteObjects (${batches > 0 ? Math.round((deleted + B - 1) / batches) : 0} keys each on average); requests: ${fmt(q)}` : '');
  });
  // What is left must be exactly the kept backup's objects and its manifest.
  const left = new Set<string>();
  for await (const o of store.list(`${NODE}/`)) left.add(o.key);
  const want = new Set(Array.from({ length: V }, (_, k) => keyOf(N - V + k)));
  const missing = [...want].filter((k) => !left.has(k)).length;
  const extra = [...left].filter((k) => !want.has(k) && !k.includes('/.cass-backup-run/'));
  const manifests = [...left].filter((k) => k.includes('/.cass-backup-run/manifests/')).length;
  const verdict = `after purge: ${left.size} objects left; kept backup's objects missing: ${missing}; data objects left that only expired backups named: ${extra.length}; manifests left: ${manifests}`;
  console.log(`  ${target} ${verdict}`);
  if (missing > 0 || extra.length > 0 || manifests !== 1) throw new Error(`purge result is wrong: ${verdict}`);
  await proxy?.close();
  const keys: string[] = [];
  for await (const o of store.list('')) keys.push(o.key);
  await store.delete(keys);
  await store.close();
  rmSync(stateDir, { recursive: true, force: true });
  if (target === 'file') rmSync(path.join(ROOT, run), { recursive: true, force: true });
}

mkdirSync(ROOT, { recursive: true });
console.log(`catalog at scale: ${B} backups × ${P} objects (newest: ${V}), ${N} distinct objects, purge of ${N - V}; dist ${DIST}`);
for (const target of TARGETS) await measure(target);
console.log('\n| target | operation | wall s | CPU s | what it did |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.target === 's3' ? 'versitygw' : 'file://'} | ${r.what} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.detail} |`);
