// Restore against backup (issue 13): on the same data, in one invocation, adjacent pairs of our `snapshot` (the
// backup) and our `restore <tag> --to DIR` of that very backup into an empty directory, against versitygw and a
// file:// store; s5cmd (`s5cmd cp 's3://bucket/prefix/*' DIR && sync -f DIR`) and rclone (`rclone copy remote:bucket/prefix
// DIR && sync -f DIR`) fetch the same objects as references. The store `sink` is bench/sink.ts in its `serve` mode: a
// server that keeps no data on disk and answers every GET with the bytes that were put at memory speed (small objects
// kept, generated content regenerated: see sink.ts), so that restores measure the clients, not versitygw's disk.
// On the sink every download is also compared with the source files (SHA-1 of each file, outside the timed run).
//
//   source .testenv/env.sh && npx tsc -p tsconfig.json && node bench/generate.ts /tmp/cbr-bench w1 w2
//   node bench/restore.ts [--root /tmp/cbr-bench] [--reps 3] [--workloads w1,w2] [--targets s3,sink,file]
//                         [--tools backup,restore,s5cmd,rclone] [--alt-dist DIR] [--concurrency 8] [--sink-port 7098]
//                         [--settle 40]
//
// Per run: GNU time (wall, user+sys of the whole process tree — for the backup this includes the nodetool JVM —,
// peak RSS of the largest process) and bench/probe.mjs (the Node process alone: peak RSS). Before every run the
// files it reads are evicted from the page cache (posix_fadvise DONTNEED on each file: the source tree before a
// backup, the store's objects — versitygw's posix directory or the file:// store — before a download), so reads
// are cold and the binaries warm; before every download the machine is synced (untimed), so that no run flushes data
// an earlier one left dirty, and after deleting many files it waits `--settle` seconds. Every restore is checked:
// file count and bytes in DIR equal the backup's.
// `--alt-dist DIR` adds `restore-alt`: the same restore with a build from another tree (before/after a change).
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evictFromPageCache } from './page-cache.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const ROOT = arg('root', '/tmp/cbr-bench');
const REPS = Number(arg('reps', '3'));
const WORKLOADS = arg('workloads', 'w1,w2').split(',');
const TARGETS = arg('targets', 's3,file').split(',') as ('s3' | 'sink' | 'file')[];
const ALT_DIST = arg('alt-dist', '');
const TOOLS = arg('tools', ['backup', 'restore', ...(ALT_DIST ? ['restore-alt'] : []), 's5cmd', 'rclone'].join(',')).split(',');
const CONC = arg('concurrency', '8');
const S5CMD = arg('s5cmd', path.join(os.homedir(), '.cache', 'cass-backup-run', 's5cmd-2.3.0'));
const RESULTS = arg('results', path.join(ROOT, 'restore-results.jsonl'));
const SETTLE_S = arg('settle', '40'); // seconds after deleting many files before the next timed run (see settleAfter)

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run \`source .testenv/env.sh\` first`);
  return v;
};
const S3_EP = env('CBR_S3_ENDPOINT');
const S3_BUCKET = env('CBR_S3_BUCKET');
const NODETOOL = env('CBR_NODETOOL');
const S3_DATA = path.join(env('CBR_TESTENV'), 's3', 'data', S3_BUCKET);
const S3_META = path.join(env('CBR_TESTENV'), 's3', 'meta', S3_BUCKET);
const WORK = path.join(ROOT, 'work');
fs.mkdirSync(WORK, { recursive: true });
const SINK_EP = `http://127.0.0.1:${arg('sink-port', '7098')}`;
const sinkProc = TARGETS.includes('sink')
  ? spawn(process.execPath, [path.join(REPO, 'bench', 'sink.ts'), new URL(SINK_EP).port, path.join(WORK, 'sink-restore.log'), 'serve'], { stdio: 'inherit' })
  : undefined;
if (sinkProc) spawnSync('sleep', ['1']);
process.on('exit', () => sinkProc?.kill()); // also when this script fails
const endpointOf = (target: string): string => (target === 'sink' ? SINK_EP : S3_EP);
const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: env('CBR_S3_ACCESS_KEY'), AWS_SECRET_ACCESS_KEY: env('CBR_S3_SECRET_KEY'), AWS_REGION: 'us-east-1',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_CONFIG_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true',
  // rclone remotes from the environment (as bench/run.ts): bs3 = versitygw, bsink = the sink
  RCLONE_CONFIG: '/dev/null',
  ...Object.fromEntries(([['BS3', S3_EP], ['BSINK', SINK_EP]] as const).flatMap(([name, ep]) => [
    [`RCLONE_CONFIG_${name}_TYPE`, 's3'], [`RCLONE_CONFIG_${name}_PROVIDER`, 'Other'], [`RCLONE_CONFIG_${name}_ENDPOINT`, ep],
    [`RCLONE_CONFIG_${name}_REGION`, 'us-east-1'], [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`, 'true'],
    [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`, env('CBR_S3_ACCESS_KEY')], [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`, env('CBR_S3_SECRET_KEY')]])),
};
delete childEnv.AWS_CA_BUNDLE;

const WL: Record<string, { name: string; dir: string; tag: string }> = {
  w1: { name: 'W1', dir: 'w1', tag: 'w1' },
  w2: { name: 'W2', dir: 'w2', tag: 'w2' },
  w3: { name: 'W3', dir: 'w3', tag: 'w3' },
};

/** Regular files under dir (recursive), skipping our own catalog and versitygw's temp directory. */
function walk(dir: string): { paths: string[]; bytes: number } {
  const paths: string[] = [];
  let bytes = 0;
  if (!fs.existsSync(dir)) return { paths, bytes };
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    if (p.includes('.cass-backup-run') || p.includes('.sgwtmp')) continue;
    paths.push(p);
    bytes += fs.statSync(p).size;
  }
  return { paths, bytes };
}

function sourceFiles(w: { dir: string; tag: string }): { paths: string[]; bytes: number } {
  const all = walk(path.join(ROOT, w.dir));
  const keep = all.paths.filter((p) => p.includes(`${path.sep}snapshots${path.sep}${w.tag}${path.sep}`));
  return { paths: keep, bytes: keep.reduce((n, p) => n + fs.statSync(p).size, 0) };
}

function evict(paths: readonly string[]): void {
  evictFromPageCache(paths, WORK);
}

interface Run {
  date: string; workload: string; target: string; tool: string; rep: number; ok: boolean; exit: number | null;
  files: number; bytes: number; wall: number; cpuS: number; treeMaxRssKiB: number; nodeMaxRssKiB?: number; note?: string;
}

function timed(cmd: string[], extraEnv: NodeJS.ProcessEnv): { status: number | null; stderr: string; wall: number; cpuS: number; rss: number; probe?: { maxRssKiB: number } } {
  const timeOut = path.join(WORK, 'time.txt');
  const probe = path.join(WORK, 'probe.json');
  fs.rmSync(probe, { force: true });
  const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeOut, ...cmd], {
    env: { ...childEnv, ...extraEnv, CBR_BENCH_PROBE: probe }, encoding: 'utf8', maxBuffer: 1 << 30,
  });
  const [wall, user, sys, rss] = fs.readFileSync(timeOut, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { status: res.status, stderr: res.stderr ?? '', wall: wall!, cpuS: user! + sys!, rss: rss!,
    probe: fs.existsSync(probe) ? JSON.parse(fs.readFileSync(probe, 'utf8')) : undefined };
}

const all: Run[] = [];
function record(base: Omit<Run, 'date' | 'wall' | 'cpuS' | 'treeMaxRssKiB' | 'ok' | 'exit'>, t: ReturnType<typeof timed>, check?: string): void {
  const ok = t.status === 0 && check === undefined;
  const run: Run = { date: new Date().toISOString(), ...base, ok, exit: t.status, wall: t.wall, cpuS: t.cpuS,
    treeMaxRssKiB: t.rss, nodeMaxRssKiB: t.probe?.maxRssKiB,
    note: [check, t.status !== 0 ? `exit ${t.status}: ${t.stderr.slice(-600)}` : undefined].filter(Boolean).join('; ') || undefined };
  all.push(run);
  fs.appendFileSync(RESULTS, JSON.stringify(run) + '\n');
  console.error(`${run.workload} ${run.target} ${run.tool} rep${run.rep}: ${ok ? 'ok' : 'FAILED'} ${run.wall}s cpu ${run.cpuS.toFixed(1)}s ` +
    `rss ${Math.round((run.nodeMaxRssKiB ?? run.treeMaxRssKiB) / 1024)}MiB ${run.note ?? ''}`);
}

function restoredFiles(dir: string): string[] {
  return walk(dir).paths.filter((p) => !path.basename(p).includes('.cbr-restore-'));
}

function checkRestored(dir: string, want: { paths: string[]; bytes: number }): string | undefined {
  // Only files under their own names: a restore's temp files (`.<name>.cbr-restore-<uuid>`) do not count.
  const all = walk(dir);
  const paths = all.paths.filter((p) => !path.basename(p).includes('.cbr-restore-'));
  const got = { paths, bytes: paths.reduce((n, p) => n + fs.statSync(p).size, 0) };
  return got.paths.length === want.paths.length && got.bytes === want.bytes ? undefined
    : `restored ${got.paths.length} files / ${got.bytes} bytes, expected ${want.paths.length} / ${want.bytes}`;
}

const chunk = Buffer.allocUnsafe(8 << 20);
function sha1(file: string): string {
  const h = crypto.createHash('sha1');
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0;) h.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Same files by content: the sorted SHA-1s of every file in both trees (names differ between the tools' layouts). */
function sameContent(restored: readonly string[], source: readonly string[]): string | undefined {
  const digests = (ps: readonly string[]) => ps.map(sha1).sort().join();
  return digests(restored) === digests(source) ? undefined : 'restored bytes differ from the source files';
}

const stamp = Date.now().toString(36);
/** After deleting `files` files, when they were many: sync (a clean inode table shortens the window), then wait out
 * ext4's recently-deleted window. A few deletions need neither: the sync before every download covers them. */
function settleAfter(files: number): void {
  if (files <= 1000) return;
  spawnSync('sync');
  spawnSync('sleep', [SETTLE_S]);
}
const probeArgs = ['--import', path.join(REPO, 'bench', 'probe.mjs')];
for (let rep = 1; rep <= REPS; rep++) {
  for (const key of WORKLOADS) {
    const w = WL[key];
    if (w === undefined) throw new Error(`unknown workload ${key}`);
    const src = sourceFiles(w);
    for (const target of TARGETS) {
      const token = `cbrrbench-${stamp}-${key}-${target}-r${rep}`;
      const fileStore = path.join(WORK, `store-${token}`);
      const storeDir = target === 's3' ? path.join(S3_DATA, token) : target === 'file' ? fileStore : undefined; // the sink keeps nothing on disk
      const dest = target === 'file' ? ['--dest', `file://${fileStore}`] : ['--dest', `s3://${S3_BUCKET}/${token}`, '--s3-endpoint', endpointOf(target)];
      const stateDir = path.join(WORK, `state-${token}`);
      const common = [...dest, '--node-id', 'bench', '--cloud', 'none', '--state-dir', stateDir, '--concurrency', CONC, '--json'];
      const base = { workload: w.name, target: target === 's3' ? 'versitygw' : target === 'sink' ? 'sink' : 'file://', rep, files: src.paths.length, bytes: src.bytes };
      try {
        evict(src.paths);
        record({ ...base, tool: 'backup' }, timed([process.execPath, ...probeArgs, path.join(REPO, 'dist', 'main.js'), 'snapshot',
          '--resume', w.tag, '--keep-snapshot', '--data-dir', path.join(ROOT, w.dir), '--nodetool', NODETOOL, ...common], {}));
        // The downloads, in an order rotated per repetition; each reads the same stored objects, cold.
        const downloads = TOOLS.filter((t) => t !== 'backup' && (t !== 's5cmd' || (target !== 'file' && fs.existsSync(S5CMD))) &&
          (t !== 'rclone' || target !== 'file'));
        const order = downloads.map((_, i) => downloads[(i + rep - 1) % downloads.length]!);
        for (const tool of order) {
          const out = path.join(WORK, `restored-${token}-${tool}`);
          fs.rmSync(out, { recursive: true, force: true });
          if (storeDir !== undefined) evict(walk(storeDir).paths);
          // Every tool's run ends with a sync of the file system: nothing written before it (the store's objects from
          // the backup, an earlier run's files) may still be dirty, or whichever runs first would pay for flushing it.
          spawnSync('sync');
          // s5cmd and rclone do not sync what they write and ours fsyncs every file: their runs end with `sync -f` of the
          // target's file system, so all are timed to data on disk.
          // rclone: its defaults but as many transfers as our --concurrency; on the sink it ignores checksums (the sink's
          // ETags are random, not MD5s): the sink's downloads are compared with the source files instead.
          const cmd = tool === 's5cmd'
            ? ['sh', '-c', '"$0" --endpoint-url "$1" --numworkers 256 cp --exclude "*.cass-backup-run*" "$2" "$3/" && sync -f "$3"',
              S5CMD, endpointOf(target), `s3://${S3_BUCKET}/${token}/*`, out]
            : tool === 'rclone'
            ? ['sh', '-c', 'rclone copy "$1" "$2" --exclude ".cass-backup-run/**" --transfers "$3" --checkers "$4" -q $5 && sync -f "$2"', 'rclone',
              `${target === 'sink' ? 'bsink' : 'bs3'}:${S3_BUCKET}/${token}`, out, CONC, String(2 * Number(CONC)), target === 'sink' ? '--ignore-checksum' : '']
            : [process.execPath, ...probeArgs, path.join(tool === 'restore-alt' ? ALT_DIST : path.join(REPO, 'dist'), 'main.js'),
              'restore', w.tag, '--to', out, ...common];
          const t = timed(cmd, {});
          const check = checkRestored(out, src);
          record({ ...base, tool }, t, check ?? (target === 'sink' ? sameContent(restoredFiles(out), src.paths) : undefined));
          // Deleted at once (kept, the outputs' pages probably slowed the later runs: up to 2x on W1), then, after
          // many files, left to settle: on an ext4 without a journal (this VM's) a file created within 35 s of mass
          // deletions in its block group skips the recently deleted inodes, more so while the inode tables are dirty;
          // a run right after another's 20,000 deletions spent 2-4x its system CPU there (perf: recently_deleted).
          fs.rmSync(out, { recursive: true, force: true });
          settleAfter(src.paths.length);
        }
      } finally {
        fs.rmSync(fileStore, { recursive: true, force: true });
        fs.rmSync(path.join(S3_DATA, token), { recursive: true, force: true });
        fs.rmSync(path.join(S3_META, token), { recursive: true, force: true });
        fs.rmSync(stateDir, { recursive: true, force: true });
        settleAfter(src.paths.length);
      }
    }
  }
}

// ---------- table: medians, and restore ÷ backup from the pairs of the same repetition ----------
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number | undefined, d = 1): string => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
const lines: string[] = [];
lines.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${os.hostname()}: ${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}, ` +
  `${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}; median of ${REPS} run(s); reads cold (evicted per file), binaries warm; ` +
  `--concurrency ${CONC}.`);
lines.push('');
lines.push('| workload | store | tool | runs ok | wall s | MB/s | files/s | CPU s | peak RSS MiB | wall ÷ backup (paired) | CPU ÷ backup | wall ÷ s5cmd | CPU ÷ s5cmd | wall ÷ rclone | CPU ÷ rclone |');
lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
const groups = [...new Set(all.map((r) => `${r.workload}|${r.target}`))];
for (const g of groups) {
  const [wname, target] = g.split('|');
  const inGroup = all.filter((r) => r.workload === wname && r.target === target);
  for (const tool of [...new Set(inGroup.map((r) => r.tool))]) {
    const rs = inGroup.filter((r) => r.tool === tool);
    const wall = median(rs.map((r) => r.wall));
    const cpu = median(rs.map((r) => r.cpuS));
    const ratios = rs.map((r) => {
      const b = inGroup.find((x) => x.tool === 'backup' && x.rep === r.rep);
      return b ? [r.wall / b.wall, r.cpuS / b.cpuS] as const : undefined;
    }).filter((x) => x !== undefined);
    // this tool ÷ a reference download of the same repetition (the same backup's objects)
    const versus = (ref: string): string[] => {
      if (tool === ref || tool === 'backup') return ['', ''];
      const rr = rs.map((r) => [r, inGroup.find((x) => x.tool === ref && x.rep === r.rep)] as const).filter((p): p is readonly [Run, Run] => p[1] !== undefined);
      return rr.length === 0 ? ['', ''] : [fmt(median(rr.map(([r, x]) => r.wall / x.wall)), 2), fmt(median(rr.map(([r, x]) => r.cpuS / x.cpuS)), 2)];
    };
    const paired = tool === 'backup' ? '' : `${fmt(median(ratios.map((x) => x[0])), 2)}`;
    const cpuRatio = tool === 'backup' ? '' : `${fmt(median(ratios.map((x) => x[1])), 2)}`;
    lines.push(`| ${wname} | ${target} | ${tool} | ${rs.filter((r) => r.ok).length}/${rs.length} | ${fmt(wall, 2)} | ${fmt(rs[0]!.bytes / 1e6 / wall, 0)} | ` +
      `${fmt(rs[0]!.files / wall, 0)} | ${fmt(cpu, 1)} | ${fmt(median(rs.map((r) => (r.nodeMaxRssKiB ?? r.treeMaxRssKiB) / 1024)), 0)} | ${paired} | ${cpuRatio} | ${versus('s5cmd').join(' | ')} | ${versus('rclone').join(' | ')} |`);
  }
}
console.log(lines.join('\n'));
fs.writeFileSync(path.join(ROOT, 'table-restore.md'), lines.join('\n') + '\n');
sinkProc?.kill();
