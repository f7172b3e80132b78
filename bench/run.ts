// Side-by-side benchmark (issue 5): ours vs the SDK baseline, rclone and aws-cli on the same files, the same
// loopback servers (versitygw for S3, fake-gcs-server for GCS), the same machine, in one invocation.
//
//   source .testenv/env.sh && npx tsc -p tsconfig.json && node bench/generate.ts /tmp/cbr-bench all
//   node bench/run.ts [--root /tmp/cbr-bench] [--reps 3] [--workloads w1,w2,w3,w4,w5,g1,g2] [--tools ours,sdk,rclone,awscli,s5cmd,put-loop]
//
// Adjacent pairs: when `ours` is among the tools, every other tool runs in a pair with its own run of ours (the
// pair's order and the order of the pairs rotate per repetition), and the ratio columns are medians of the per-pair
// ratios, so that drift in the machine's load between pairs cancels out. CPU is GNU time's user+sys, which counts
// every descendant the tool waited for: for ours the nodetool JVMs too (they are counted and shown: a wrapper
// script in the work directory logs each nodetool start, then execs the real one).
//
// Per run: GNU time (wall, user+sys CPU of the whole process tree, peak RSS of the largest process, blocks read),
// the Node probe (this Node process only: peak RSS, CPU, bytes read), and the S3 requests the run sent, counted in
// versitygw's access log (one line per request) by the run's unique key prefix. Before each run the workload's
// files are evicted from the page cache (posix_fadvise DONTNEED on every file), so data reads are cold while
// the tools' own binaries stay warm. Objects are checked (count and bytes on the server) and deleted after each run.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evictFromPageCache } from './page-cache.ts';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { encryptedSize, x25519PrefixSize } from '../src/crypto/age-format.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const ROOT = arg('root', '/tmp/cbr-bench');
const REPS = Number(arg('reps', '3'));
const WORKLOADS = arg('workloads', 'w1,w2,w3,w4,w5,g1,g2').split(',');
const TOOLS = arg('tools', 'ours,sdk,rclone,awscli').split(',');
// s5cmd 2.3.0, built from its Go module (bench/README.md); its default --numworkers (256) unless --s5cmd-workers.
const S5CMD = arg('s5cmd', path.join(os.homedir(), '.cache', 'cass-backup-run', 's5cmd-2.3.0'));
const S5CMD_WORKERS = arg('s5cmd-workers', '256');
const CONC = Number(arg('concurrency', '8'));
// --alt-dist DIR adds the tool `ours-alt`: the same CLI built from another tree (e.g. a scratch copy with a fix).
const ALT_DIST = arg('alt-dist', '');
// --alt-args "…" adds the tool `ours-args`: ours with extra options (e.g. "--part-concurrency 8").
const ALT_ARGS = arg('alt-args', '').split(' ').filter((a) => a !== '');
const RESULTS = arg('results', path.join(ROOT, 'results.jsonl'));
// --node-data-dirs A:B adds the test node's own data directories to ours' --data-dir (nothing of the workload's tag is
// there): its system_schema is what the node-facts cache fingerprints, as on a real node, where the snapshot's
// data directories are Cassandra's. Without it the workload tree has no system_schema and describecluster runs every time.
const NODE_DATA_DIRS = arg('node-data-dirs', '').split(':').filter((d) => d !== '');
// The tool `ours-encrypted`: ours with client-side encryption (--encrypt-to a key pair made for this invocation),
// to be run adjacent to `ours` (--tools ours,ours-encrypted): its row's ratios are the cost of encryption.
const BENCH_RECIPIENT = TOOLS.includes('ours-encrypted') ? await identityToRecipient(await generateX25519Identity()) : '';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run \`source .testenv/env.sh\` first`);
  return v;
};
// --target sink: S3 workloads go to bench/sink.ts (a discard server started here) instead of versitygw, so that
// the clients' own cost is measured rather than versitygw's disk writes on the same 2 cores.
const TARGET = arg('target', 'versitygw');
const SINK = TARGET === 'sink';
const SINK_PORT = Number(arg('sink-port', '7099'));
const S3_EP = SINK ? `http://127.0.0.1:${SINK_PORT}` : env('CBR_S3_ENDPOINT');
const S3_BUCKET = env('CBR_S3_BUCKET');
const GCS_EP = env('CBR_GCS_ENDPOINT');
const GCS_BUCKET = env('CBR_GCS_BUCKET');
const NODETOOL = env('CBR_NODETOOL');
const TESTENV = env('CBR_TESTENV');
const S3_LOG = SINK ? path.join(ROOT, 'work', 'sink.log') : path.join(TESTENV, 'logs', 's3.log');
const S3_DATA = path.join(TESTENV, 's3', 'data', S3_BUCKET);
const S3_META = path.join(TESTENV, 's3', 'meta', S3_BUCKET);
const GCS_DATA = path.join(TESTENV, 'gcs', GCS_BUCKET);
const WORK = path.join(ROOT, 'work');
fs.mkdirSync(WORK, { recursive: true });
let sinkProc: ReturnType<typeof spawn> | undefined;
if (SINK) {
  fs.writeFileSync(S3_LOG, '');
  sinkProc = spawn(process.execPath, [path.join(REPO, 'bench', 'sink.ts'), String(SINK_PORT), S3_LOG], { stdio: 'inherit' });
  spawnSync('sleep', ['1']);
  process.on('exit', () => sinkProc?.kill()); // also when this script fails
}

const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: env('CBR_S3_ACCESS_KEY'),
  AWS_SECRET_ACCESS_KEY: env('CBR_S3_SECRET_KEY'),
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: path.join(WORK, 'aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_EC2_METADATA_DISABLED: 'true',
  // rclone remotes from the environment (no config file): bs3 = versitygw, bgcs = fake-gcs-server
  RCLONE_CONFIG: '/dev/null',
  RCLONE_CONFIG_BS3_TYPE: 's3',
  RCLONE_CONFIG_BS3_PROVIDER: 'Other',
  RCLONE_CONFIG_BS3_ENDPOINT: S3_EP,
  RCLONE_CONFIG_BS3_REGION: 'us-east-1',
  RCLONE_CONFIG_BS3_FORCE_PATH_STYLE: 'true',
  RCLONE_CONFIG_BS3_ACCESS_KEY_ID: env('CBR_S3_ACCESS_KEY'),
  RCLONE_CONFIG_BS3_SECRET_ACCESS_KEY: env('CBR_S3_SECRET_KEY'),
  RCLONE_CONFIG_BGCS_TYPE: 'google cloud storage',
  RCLONE_CONFIG_BGCS_ENDPOINT: `${GCS_EP}/storage/v1/`,
  RCLONE_CONFIG_BGCS_ANONYMOUS: 'true',
};
// Everything is plain http on loopback; a CA bundle from the caller's environment only breaks rclone's S3 client.
delete childEnv.AWS_CA_BUNDLE;
fs.writeFileSync(path.join(WORK, 'aws-config'), '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
// Ours gets this nodetool: it appends one line per start (its arguments) to NODETOOL_LOG and execs the real one,
// so each run's row can say how many JVMs it started (their CPU is in GNU time's figures either way).
const NODETOOL_LOG = path.join(WORK, 'nodetool-starts.log');
const COUNTING_NODETOOL = path.join(WORK, 'nodetool-counting');
fs.writeFileSync(COUNTING_NODETOOL, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${NODETOOL_LOG}'\nexec '${NODETOOL}' "$@"\n`, { mode: 0o755 });
fs.writeFileSync(NODETOOL_LOG, '');

// ---------- workloads ----------
interface Workload {
  readonly name: string;
  readonly store: 's3' | 'gcs';
  readonly dir: string; // data dir
  readonly kind: 'snapshot' | 'backups';
  readonly tag?: string;
  readonly describe: string;
}
const WL: Record<string, Workload> = {
  w1: { name: 'W1', store: 's3', dir: 'w1', kind: 'snapshot', tag: 'w1', describe: 'one 2 GiB Data.db + 7 components' },
  w2: { name: 'W2', store: 's3', dir: 'w2', kind: 'snapshot', tag: 'w2', describe: '20,000 files of 4–64 KiB' },
  w3: { name: 'W3', store: 's3', dir: 'w3', kind: 'snapshot', tag: 'w3', describe: 'mixed ~8 GiB snapshot' },
  w4: { name: 'W4', store: 's3', dir: 'w3', kind: 'snapshot', tag: 'w4', describe: 'second snapshot of W3, 2% new SSTables' },
  w5: { name: 'W5', store: 's3', dir: 'w5', kind: 'backups', describe: '200 small files in backups/' },
  g1: { name: 'W1-GCS', store: 'gcs', dir: 'w1', kind: 'snapshot', tag: 'w1', describe: 'W1 to fake-gcs-server' },
  g2: { name: 'W2-GCS', store: 'gcs', dir: 'w2', kind: 'snapshot', tag: 'w2', describe: 'W2 to fake-gcs-server' },
};

function listFiles(w: Workload): { rel: string[]; bytes: number } {
  const root = path.join(ROOT, w.dir);
  const rel: string[] = [];
  let bytes = 0;
  for (const ks of fs.readdirSync(root).filter((n) => !n.startsWith('.')).sort()) {
    for (const table of fs.readdirSync(path.join(root, ks)).sort()) {
      const sub = w.kind === 'backups' ? 'backups' : path.join('snapshots', w.tag!);
      const d = path.join(root, ks, table, sub);
      if (!fs.existsSync(d)) continue;
      for (const f of fs.readdirSync(d).sort()) {
        const r = path.join(ks, table, sub, f);
        rel.push(r);
        bytes += fs.statSync(path.join(root, r)).size;
      }
    }
  }
  return { rel, bytes };
}

// ---------- measuring ----------
interface Run {
  date: string; workload: string; tool: string; rep: number; ok: boolean; exit: number | null;
  files: number; bytes: number; wall: number; cpuUser: number; cpuSys: number; treeMaxRssKiB: number;
  fsInBlocks: number; probe?: { maxRssKiB: number; userS: number; sysS: number; rchar: number; readBytes: number };
  requests?: number; requestsByMethod?: Record<string, number>; storedObjects?: number; storedBytes?: number;
  uploaded?: number; copied?: number; reused?: number; note?: string;
  /** nodetool starts (JVMs) during the run, and their subcommands. */
  jvms?: number; nodetoolCalls?: string[];
  /** Which adjacent pair (ours + one peer) of this repetition the run belongs to. */
  pair?: string;
}

function evict(w: Workload, rel: string[]): void {
  evictFromPageCache(rel.map((r) => path.join(ROOT, w.dir, r)), WORK);
}

function countRequests(offset: number, token: string): { total: number; byMethod: Record<string, number> } {
  const fd = fs.openSync(S3_LOG, 'r');
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(size - offset);
  fs.readSync(fd, buf, 0, buf.length, offset);
  fs.closeSync(fd);
  const byMethod: Record<string, number> = {};
  let total = 0;
  for (const line of buf.toString('utf8').split('\n')) {
    if (!line.includes(token)) continue;
    const m = (SINK ? line.split(' ')[0] : line.split('|').map((s) => s.trim())[5]) ?? '?';
    byMethod[m] = (byMethod[m] ?? 0) + 1;
    total++;
  }
  return { total, byMethod };
}

function walk(dir: string): { n: number; bytes: number } {
  let n = 0;
  let bytes = 0;
  if (!fs.existsSync(dir)) return { n, bytes };
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    if (p.includes('.cass-backup-run') || p.includes('.sgwtmp')) continue;
    n++;
    bytes += fs.statSync(p).size;
  }
  return { n, bytes };
}

function storeDir(w: Workload, token: string): string {
  return path.join(w.store === 's3' ? S3_DATA : GCS_DATA, token);
}

function cleanup(token: string): void {
  for (const base of [S3_DATA, S3_META, GCS_DATA]) fs.rmSync(path.join(base, token), { recursive: true, force: true });
}

function command(tool: string, w: Workload, token: string, listFile: string, nodeId: string, stateDir: string, probe: string): string[] | undefined {
  const root = path.join(ROOT, w.dir);
  const node = process.execPath;
  if (tool === 'ours' || tool === 'ours-alt' || tool === 'ours-dedup' || tool === 'ours-args' || tool === 'ours-encrypted') {
    const dest = w.store === 's3' ? [`--dest`, `s3://${S3_BUCKET}/${token}`, '--s3-endpoint', S3_EP]
      : ['--dest', `gs://${GCS_BUCKET}/${token}`, '--gcs-endpoint', GCS_EP];
    // (not for backups/ workloads: incremental would upload the node's own backups/ too)
    const nodeDirs = w.kind === 'snapshot' ? NODE_DATA_DIRS.flatMap((d) => ['--data-dir', d]) : [];
    const common = [...dest, '--data-dir', root, ...nodeDirs, '--node-id', nodeId, '--cloud', 'none', '--state-dir', stateDir,
      '--json', '--nodetool', COUNTING_NODETOOL, '--concurrency', String(CONC), ...(tool === 'ours-dedup' ? ['--layout', 'dedup'] : []),
      ...(tool === 'ours-args' ? ALT_ARGS : []), ...(tool === 'ours-encrypted' ? ['--encrypt-to', BENCH_RECIPIENT] : [])];
    const main = path.join(tool === 'ours-alt' ? ALT_DIST : path.join(REPO, 'dist'), 'main.js');
    const pre = [node, '--import', path.join(REPO, 'bench', 'probe.mjs'), main];
    if (w.kind === 'backups') return [...pre, 'incremental', ...common];
    return [...pre, 'snapshot', '--resume', w.tag!, '--keep-snapshot', ...common];
  }
  if (tool === 'sdk') {
    return [node, '--import', path.join(REPO, 'bench', 'probe.mjs'), path.join(REPO, 'bench', 'sdk-baseline.ts'),
      w.store, w.store === 's3' ? S3_EP : GCS_EP, w.store === 's3' ? S3_BUCKET : GCS_BUCKET, token, root, listFile, String(CONC)];
  }
  if (tool === 'put-loop') {
    if (w.store !== 's3') return undefined;
    return [node, '--import', path.join(REPO, 'bench', 'probe.mjs'), path.join(REPO, 'bench', 'put-loop.ts'),
      S3_EP, S3_BUCKET, token, root, listFile, String(CONC)];
  }
  if (tool === 's5cmd') {
    if (w.store !== 's3' || !fs.existsSync(S5CMD)) return undefined;
    // What an operator would type: one wildcard cp of the tag's directories; s5cmd keeps the path after the
    // wildcard's fixed part, so the keys are <token>/<ks>/<table>/snapshots/<tag>/<file> as for the other tools.
    const pattern = path.join(root, '*', '*', w.kind === 'backups' ? 'backups' : path.join('snapshots', w.tag!), '*');
    return [S5CMD, '--endpoint-url', S3_EP, '--numworkers', S5CMD_WORKERS, 'cp', pattern, `s3://${S3_BUCKET}/${token}/`];
  }
  if (tool === 'rclone') {
    const remote = w.store === 's3' ? `bs3:${S3_BUCKET}/${token}` : `bgcs:${GCS_BUCKET}/${token}`;
    const tuning = w.store === 's3'
      ? ['--s3-upload-concurrency', '4', '--s3-chunk-size', '16M', '--s3-upload-cutoff', '64M', '--s3-no-check-bucket',
        // the discard sink answers with random ETags, which rclone would take for corruption
        ...(SINK ? ['--ignore-checksum'] : [])]
      : [];
    return ['rclone', 'copy', root, remote, '--files-from', listFile, '--no-traverse', '--transfers', String(CONC),
      '--checkers', String(2 * CONC), ...tuning, '-q'];
  }
  if (tool === 'awscli') {
    if (w.store !== 's3') return undefined;
    const include = w.kind === 'backups' ? '*/backups/*' : `*/snapshots/${w.tag}/*`;
    return ['/usr/bin/aws', 's3', 'cp', root, `s3://${S3_BUCKET}/${token}`, '--recursive', '--endpoint-url', S3_EP,
      '--only-show-errors', '--exclude', '*', '--include', include];
  }
  return undefined;
}

/** Whether a tool has a command for the workload's store (a pair is not run for a peer that has none). */
function applies(tool: string, w: Workload): boolean {
  if (tool === 's5cmd') return w.store === 's3' && fs.existsSync(S5CMD);
  if (tool === 'put-loop' || tool === 'awscli') return w.store === 's3';
  return true;
}

function measure(tool: string, w: Workload, rep: number, files: { rel: string[]; bytes: number }, opts: {
  token: string; nodeId: string; stateDir: string; keep?: boolean; noEvict?: boolean; pair?: string;
}): Run | undefined {
  const listFile = path.join(WORK, `list-${w.dir}-${w.tag ?? 'backups'}.txt`);
  fs.writeFileSync(listFile, files.rel.join('\n') + '\n');
  const probe = path.join(WORK, 'probe.json');
  fs.rmSync(probe, { force: true });
  const cmd = command(tool, w, opts.token, listFile, opts.nodeId, opts.stateDir, probe);
  if (cmd === undefined) return undefined;
  if (!opts.noEvict) evict(w, files.rel);
  const logOffset = fs.statSync(S3_LOG).size;
  const nodetoolOffset = fs.statSync(NODETOOL_LOG).size;
  const timeOut = path.join(WORK, 'time.txt');
  const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M %I', '-o', timeOut, ...cmd], {
    env: { ...childEnv, CBR_BENCH_PROBE: probe }, encoding: 'utf8', maxBuffer: 1 << 30,
  });
  const [wall, user, sys, rss, fsIn] = fs.readFileSync(timeOut, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  const run: Run = {
    date: new Date().toISOString(), workload: w.name, tool, rep, ok: res.status === 0, exit: res.status,
    files: files.rel.length, bytes: files.bytes, wall: wall!, cpuUser: user!, cpuSys: sys!, treeMaxRssKiB: rss!, fsInBlocks: fsIn!,
  };
  if (fs.existsSync(probe)) run.probe = JSON.parse(fs.readFileSync(probe, 'utf8'));
  if (opts.pair !== undefined) run.pair = opts.pair;
  if (tool.startsWith('ours')) {
    run.nodetoolCalls = fs.readFileSync(NODETOOL_LOG, 'utf8').slice(nodetoolOffset).split('\n').filter((l) => l !== '');
    run.jvms = run.nodetoolCalls.length;
  }
  if (w.store === 's3') {
    const r = countRequests(logOffset, opts.token);
    run.requests = r.total;
    run.requestsByMethod = r.byMethod;
  }
  if (tool.startsWith('ours')) {
    const summary = res.stdout.trim().split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } })
      .filter((e) => e.type === 'file');
    run.uploaded = summary.filter((e) => e.action === 'uploaded').length;
    run.copied = summary.filter((e) => e.action === 'copied').length;
    run.reused = summary.filter((e) => e.action === 'reused').length;
  }
  // Encrypted objects are larger by a known amount (the age header and 16 bytes per 64 KiB).
  const expectBytes = tool === 'ours-encrypted'
    ? files.rel.reduce((n, rel) => n + encryptedSize(fs.statSync(path.join(ROOT, w.dir, rel)).size, x25519PrefixSize(1)), 0) : files.bytes;
  const stored = SINK && w.store === 's3' ? { n: files.rel.length, bytes: expectBytes } : walk(storeDir(w, opts.token));
  run.storedObjects = stored.n;
  run.storedBytes = stored.bytes;
  const expectObjects = files.rel.length; // (W4 lands next to W3's objects: not checked by count)
  if (run.ok && w.name !== 'W4' && (stored.n !== expectObjects || stored.bytes !== expectBytes)) {
    run.ok = false;
    run.note = `stored ${stored.n} objects / ${stored.bytes} bytes, expected ${expectObjects} / ${expectBytes}`;
  }
  if (res.status !== 0) run.note = (run.note ?? '') + ` exit ${res.status}: ${res.stderr.slice(-600)}`;
  fs.appendFileSync(RESULTS, JSON.stringify(run) + '\n');
  if (!opts.keep) cleanup(opts.token);
  const cpu = run.cpuUser + run.cpuSys;
  console.error(`${w.name} ${tool} rep${rep}: ${run.ok ? 'ok' : 'FAILED'} ${run.wall}s cpu ${cpu.toFixed(1)}s ` +
    `rss ${Math.round((run.probe?.maxRssKiB ?? run.treeMaxRssKiB) / 1024)}MiB req ${run.requests ?? '-'}` +
    `${run.jvms === undefined ? '' : ` jvms ${run.jvms} (${run.nodetoolCalls!.join('; ')})`} ${run.note ?? ''}`);
  return run;
}

// ---------- main ----------
const all: Run[] = [];
const stamp = Date.now().toString(36);
for (let rep = 1; rep <= REPS; rep++) {
  for (const key of WORKLOADS) {
    const w = WL[key];
    if (w === undefined) throw new Error(`unknown workload ${key}`);
    if (key === 'w4') continue; // runs right after ours' W3 (it needs W3's manifest)
    const files = listFiles(w);
    for (const [pair, tools] of schedule(rep, w)) {
      for (const tool of tools) {
        const token = `cbrbench-${stamp}-${key}-${tool}-r${rep}${pair === undefined ? '' : `-${pair}`}`;
        const stateDir = path.join(WORK, `state-${token}`);
        carryNodeFacts(tool, stateDir, 'in');
        const withW4 = key === 'w3' && tool.startsWith('ours') && WORKLOADS.includes('w4');
        const r = measure(tool, w, rep, files, { token, nodeId: 'bench', stateDir, keep: withW4, ...(pair === undefined ? {} : { pair }) });
        if (r) all.push(r);
        if (withW4) {
          const w4 = WL.w4!;
          const r4 = measure(tool, w4, rep, listFiles(w4), { token, nodeId: 'bench', stateDir, ...(pair === undefined ? {} : { pair }) });
          if (r4) all.push(r4);
          cleanup(token);
        }
        carryNodeFacts(tool, stateDir, 'out');
        fs.rmSync(stateDir, { recursive: true, force: true });
      }
    }
  }
}

/**
 * Each run of ours has a fresh state directory, except for what nodetool describecluster told the previous run of
 * the same tool (node-facts.json, src/cassandra/facts-cache.ts), carried over as a node's state directory keeps it
 * between cron runs: the runs then start the JVMs of a node's steady state, not of its first run.
 */
function carryNodeFacts(tool: string, stateDir: string, way: 'in' | 'out'): void {
  if (!tool.startsWith('ours')) return;
  const kept = path.join(WORK, `node-facts-${tool}.json`);
  const inState = path.join(stateDir, 'node-facts.json');
  if (way === 'in' && fs.existsSync(kept)) {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.copyFileSync(kept, inState);
  }
  if (way === 'out' && fs.existsSync(inState)) fs.copyFileSync(inState, kept);
}

/**
 * The runs of one repetition. With `ours` among the tools: one adjacent pair per other tool, [ours, peer] or
 * [peer, ours] alternating by repetition, the pairs' order rotated by repetition; without it, the tools in an
 * order rotated by repetition (as before), as one group.
 */
function schedule(rep: number, w: Workload): [string | undefined, string[]][] {
  const rotate = <T>(xs: readonly T[]): T[] => xs.map((_, i) => xs[(i + rep - 1) % xs.length]!);
  const peers = TOOLS.filter((t) => t !== 'ours' && applies(t, w));
  if (!TOOLS.includes('ours') || peers.length === 0) return [[undefined, rotate(TOOLS)]];
  return rotate(peers).map((peer) => [peer, rep % 2 === 1 ? ['ours', peer] : [peer, 'ours']]);
}

// ---------- table ----------
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
interface Row {
  workload: string; tool: string; n: number; ok: boolean; wall: number; mbps: number; fps: number; cpuPerGiB: number; cpuS: number;
  rssMiB: number; requests: number | undefined; readMB: number | undefined; jvms: number | undefined;
  /** Medians of the per-pair ratios (peer wall ÷ ours wall, ours CPU ÷ peer CPU); undefined for ours itself. */
  faster: number | undefined; cpuRatio: number | undefined;
}
const rows: Row[] = [];
for (const wname of [...new Set(all.map((r) => r.workload))]) {
  for (const tool of [...new Set(all.filter((r) => r.workload === wname).map((r) => r.tool))]) {
    const rs = all.filter((r) => r.workload === wname && r.tool === tool);
    const wall = median(rs.map((r) => r.wall));
    const bytes = rs[0]!.bytes;
    const cpu = median(rs.map((r) => r.cpuUser + r.cpuSys));
    // ours of the same repetition and pair; without pairs (no `ours` in --tools), ours of the same repetition
    const partner = (r: Run): Run | undefined => all.find((x) => x.workload === wname && x.tool === 'ours' && x.rep === r.rep && x.pair === r.pair);
    const pairs = tool === 'ours' ? [] : rs.map((r) => [r, partner(r)] as const).filter((p): p is readonly [Run, Run] => p[1] !== undefined);
    rows.push({
      workload: wname, tool, n: rs.length, ok: rs.every((r) => r.ok), wall,
      mbps: bytes / 1e6 / wall, fps: rs[0]!.files / wall, cpuS: cpu, cpuPerGiB: cpu / (bytes / 2 ** 30),
      rssMiB: median(rs.map((r) => (r.probe?.maxRssKiB ?? r.treeMaxRssKiB) / 1024)),
      requests: rs[0]!.requests === undefined ? undefined : median(rs.map((r) => r.requests!)),
      readMB: median(rs.map((r) => (r.probe ? r.probe.readBytes : r.fsInBlocks * 512) / 1e6)),
      jvms: rs[0]!.jvms === undefined ? undefined : median(rs.map((r) => r.jvms ?? 0)),
      faster: pairs.length === 0 ? undefined : median(pairs.map(([p, o]) => p.wall / o.wall)),
      cpuRatio: pairs.length === 0 ? undefined : median(pairs.map(([p, o]) => (o.cpuUser + o.cpuSys) / (p.cpuUser + p.cpuSys))),
    });
  }
}
const fmt = (x: number | undefined, d = 1): string => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
const lines: string[] = [];
lines.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${os.hostname()}: ${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}, ` +
  `${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}; median of ${REPS} run(s); data cold in page cache (evicted per file), binaries warm; ` +
  `S3 server: ${SINK ? 'bench/sink.ts (discard)' : 'versitygw (posix backend)'}.` +
  (TOOLS.includes('ours') ? ' Ratios: medians over adjacent pairs (each peer run next to its own run of ours).' : ''));
lines.push('');
lines.push('| workload | tool | runs ok | wall s | MB/s | files/s | CPU s | CPU s/GiB | peak RSS MiB | requests | MB read | JVMs | ours faster by | ours CPU ÷ peer |');
lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  lines.push(`| ${r.workload} | ${r.tool} | ${r.ok ? `${r.n}/${r.n}` : 'FAIL'} | ${fmt(r.wall, 2)} | ${fmt(r.mbps, 0)} | ${fmt(r.fps, 0)} | ${fmt(r.cpuS, 1)} | ` +
    `${fmt(r.cpuPerGiB, 2)} | ${fmt(r.rssMiB, 0)} | ${fmt(r.requests, 0)} | ${fmt(r.readMB, 0)} | ${r.jvms === undefined ? '' : fmt(r.jvms, 0)} | ` +
    `${r.faster === undefined ? '' : `${fmt(r.faster, 2)}×`} | ${r.cpuRatio === undefined ? '' : fmt(r.cpuRatio, 2)} |`);
}
for (const tool of TOOLS.filter((t) => t.startsWith('ours'))) {
  const w3 = rows.find((r) => r.workload === 'W3' && r.tool === tool);
  const w4 = rows.find((r) => r.workload === 'W4' && r.tool === tool);
  if (w3 && w4) lines.push('', `W4 ÷ W3 wall (${tool}): ${fmt((100 * w4.wall) / w3.wall, 1)}% (target ≤ 10%)`);
}
console.log(lines.join('\n'));
fs.writeFileSync(path.join(ROOT, `table-${TARGET}.md`), lines.join('\n') + '\n');
sinkProc?.kill();
