// What an operator sees while a run moves bytes: a live line on a terminal that changes while one large file is
// still uploading (run under a pseudo-terminal with `script` from util-linux), nothing of it in a log file but
// timestamps on every line, `--json` progress events during one large file for snapshot, incremental, restore and
// verify --deep (every line checked against docs/events.schema.json), and what --quiet / --verbose change.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { cliPath, requireEnv, runCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { s3Reader } from '../support/stores.ts';
import { shellQuote } from '../../src/config/resume-command.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { assertDocumentedLines } from '../support/json-schema.ts';

const MiB = 1024 * 1024;
const TABLE = join('ks_progress', 'blobs-0123456789abcdef0123456789abcdef');
const BIG_TAG = 'progress-big';
const JSON_TAG = 'progress-json';
const dataDir = tempDir('data-progress');
const prefixes: string[] = [];

async function writeRandom(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = size; left > 0; left -= MiB) if (!out.write(randomBytes(Math.min(MiB, left)))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

function prefix(name: string): string {
  const p = uniquePrefix(`progress-${name}`);
  prefixes.push(p);
  return p;
}

before(async () => {
  const big = join(dataDir, TABLE, 'snapshots', BIG_TAG);
  const small = join(dataDir, TABLE, 'snapshots', JSON_TAG);
  const backups = join(dataDir, TABLE, 'backups');
  for (const d of [big, small, backups]) mkdirSync(d, { recursive: true });
  await writeRandom(join(big, 'nb-1-big-Data.db'), 200 * MiB);
  await writeRandom(join(small, 'nb-2-big-Data.db'), 40 * MiB);
  writeFileSync(join(small, 'nb-2-big-TOC.txt'), 'Data.db\nTOC.txt\n');
  await writeRandom(join(backups, 'nb-3-big-Data.db'), 40 * MiB);
});

after(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  const store = s3Reader();
  for (const p of prefixes) await store.deletePrefix(`${p}/`);
});

/** Runs the CLI with stderr (and stdout) on a pseudo-terminal: `script` from util-linux; returns what the terminal got. */
function runOnTerminal(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const command = [process.execPath, cliPath, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-qfec', command, '/dev/null'], { env, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`script did not finish: ${err.message}\n${stderr}`));
      resolve({ exitCode: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /;
// The live line: `58.6% 117.2 MiB / 200.0 MiB, 20.0 MiB/s, ETA 4s, 0/1 files, 1 in flight`
const LIVE = /(\d+(?:\.\d)?)% (\d+(?:\.\d)? [KMG]?i?B) \/ 200\.0 MiB, (-- \/s|\d+(?:\.\d)? [KMG]?i?B\/s), ETA (\S+), (\d+)\/1 files/g;

function bigUpload(p: string): string[] {
  return ['snapshot', '--resume', BIG_TAG, '--keep-snapshot', '--data-dir', dataDir, '--dest', s3Dest(p), '--node-id', 'node-progress',
    '--max-rate', '20MiB'];
}

describe('live progress', () => {
  it('on a terminal: while one 200 MiB file uploads, the line shows bytes moving and a rate; cleared at the end', async () => {
    const run = await runOnTerminal(bigUpload(prefix('tty')), s3CliEnv());
    assert.equal(run.exitCode, 0, run.stdout);
    const lines = [...run.stdout.matchAll(LIVE)];
    const beforeDone = lines.filter((m) => m[5] === '0');
    const distinct = new Set(beforeDone.map((m) => m[2]));
    assert.ok(distinct.size >= 4, `several byte counts before the file completed: ${[...distinct].join(', ')}`);
    assert.ok(beforeDone.some((m) => /^\d+\.\d MiB\/s$/.test(m[3] ?? '')), 'a rate in MiB/s');
    assert.ok(beforeDone.some((m) => /^\d+s$/.test(m[4] ?? '')), 'an ETA');
    assert.ok(run.stdout.includes('\r\x1b[K'), 'rewritten in place');
    const summary = run.stdout.indexOf('snapshot progress-big complete: 1 files, 200.0 MiB');
    assert.ok(summary > 0, run.stdout);
    assert.ok(run.stdout.lastIndexOf('in flight') < summary, 'no live line after the summary');
    assert.match(run.stdout.slice(summary), /in \d+\.\d s, \d+\.\d MiB\/s; manifest /);
    assert.doesNotMatch(run.stdout, STAMP, 'no timestamps on a terminal');
  });

  it('without a terminal: no progress line at all, and every line starts with a UTC timestamp', async () => {
    const run = await runCli(bigUpload(prefix('log')), s3CliEnv());
    assert.equal(run.exitCode, 0, run.stderr);
    assert.ok(!run.stderr.includes('\r') && !/ETA|in flight/.test(run.stderr), run.stderr);
    const lines = run.stderr.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 2, run.stderr);
    for (const line of lines) assert.match(line, STAMP);
    assert.ok(lines.some((l) => /Z snapshot progress-big: 1 files, 200\.0 MiB → s3:\/\//.test(l)), 'the start line');
    assert.match(lines.at(-1) ?? '', /Z snapshot progress-big complete: 1 files/);
  });
});

/** The progress events of a --json run: several during the large file, byte counts rising, one final. */
function assertProgressDuring(values: Record<string, unknown>[], what: string, totalBytes: number): void {
  const progress = values.filter((v) => v.type === 'progress');
  const during = progress.filter((p) => p.final === false && Number(p.doneBytes) > 0 && Number(p.doneBytes) < totalBytes);
  assert.ok(during.length >= 2, `${what}: progress events while the large file moved: ${JSON.stringify(progress)}`);
  const bytes = during.map((p) => Number(p.doneBytes));
  assert.deepEqual(bytes, [...bytes].sort((a, b) => a - b), `${what}: byte counts only rise`);
  assert.ok(new Set(bytes).size >= 2, `${what}: byte counts change`);
  assert.ok(during.some((p) => typeof p.bytesPerSecond === 'number' && p.bytesPerSecond > 0), `${what}: a rate`);
  const final = progress.filter((p) => p.final === true);
  assert.equal(final.length, 1, `${what}: one final progress event`);
  assert.deepEqual([final[0]?.doneBytes, final[0]?.percent], [totalBytes, 100], `${what}: the final one says all is done`);
}

describe('--json progress events, every line documented', () => {
  let proxy: FaultProxy | undefined;
  after(async () => proxy?.close());

  it('snapshot, incremental, restore and verify --deep report progress during one large file; list, purge, detect, errors', async () => {
    const p = prefix('json');
    const env = s3CliEnv();
    const common = ['--dest', s3Dest(p), '--node-id', 'node-progress-json', '--json'];
    const jsonBytes = 40 * MiB + 'Data.db\nTOC.txt\n'.length;
    const checked = async (args: string[], what: string, exitCode = 0): Promise<Record<string, unknown>[]> => {
      const run = await runCli(args, env);
      assert.equal(run.exitCode, exitCode, `${what}: ${run.stderr}`);
      return assertDocumentedLines(run.stdout, what);
    };

    const snapshot = await checked(['snapshot', '--resume', JSON_TAG, '--keep-snapshot', '--data-dir', dataDir, ...common, '--max-rate', '10MiB'], 'snapshot');
    assertProgressDuring(snapshot, 'snapshot', jsonBytes);
    assert.equal(snapshot.at(-1)?.type, 'summary');
    const files = snapshot.filter((v) => v.type === 'file');
    assert.deepEqual(files.map((f) => [f.action, f.size, f.bytes]).sort(), [['uploaded', 16, 16], ['uploaded', 40 * MiB, 40 * MiB]]);

    const incremental = await checked(['incremental', '--data-dir', dataDir, ...common, '--max-rate', '10MiB'], 'incremental');
    assertProgressDuring(incremental, 'incremental', 40 * MiB);

    // Downloads are slowed between the client and the real server, so that they take a few seconds.
    proxy = await startFaultProxy(requireEnv('CBR_S3_ENDPOINT'), { flavour: 's3', answerBytesPerSecond: 10 * MiB });
    const viaProxy = ['--s3-endpoint', proxy.endpoint];
    const dir = join(tempDir('restore-progress'), 'restore');
    const restore = await checked(['restore', JSON_TAG, '--to', dir, ...common, ...viaProxy], 'restore');
    assertProgressDuring(restore, 'restore', jsonBytes);
    assert.equal(restore.at(-1)?.command, 'restore', 'the result document is the last line');
    assert.deepEqual(restore.filter((v) => v.type === 'file').map((f) => f.action), ['restored', 'restored']);
    assert.ok(existsSync(join(dir, TABLE, 'nb-2-big-Data.db')), readdirSync(dir).join(', '));

    const verify = await checked(['verify', JSON_TAG, '--deep', ...common, ...viaProxy], 'verify --deep');
    assertProgressDuring(verify, 'verify --deep', jsonBytes);
    assert.deepEqual([verify.at(-1)?.command, verify.at(-1)?.ok], ['verify', true]);

    await checked(['verify', 'latest', ...common], 'verify');
    await checked(['restore', JSON_TAG, '--to', join(tempDir('restore-dry'), 'r'), '--dry-run', ...common], 'restore --dry-run');
    await checked(['list', ...common], 'list');
    await checked(['list', '--all-nodes', ...common], 'list --all-nodes');
    await checked(['purge', '--keep-last', '1', ...common], 'purge');
    await checked(['detect', '--json', '--data-dir', dataDir, '--dest', s3Dest(p)], 'detect');
    const failed = await checked(['verify', 'no-such-tag', ...common], 'an error', 2);
    assert.equal(failed.at(-1)?.type, 'error');
  });
});

describe('--quiet and --verbose', () => {
  const smallData = tempDir('data-levels');
  const backups = join(smallData, TABLE, 'backups');
  const dest = `file://${tempDir('dest-levels')}`;
  const env = s3CliEnv();
  const run = (...extra: string[]) => runCli(['incremental', '--data-dir', smallData, '--dest', dest, '--node-id', 'node-levels', ...extra], env);
  const messages = (r: CliResult): string[] => r.stderr.split('\n').filter((l) => l !== '').map((l) => l.replace(STAMP, ''));
  after(() => rmSync(smallData, { recursive: true, force: true }));

  it('quiet: only the summary; default: also the start and info lines; verbose: also every file; both: exit 2', async () => {
    mkdirSync(backups, { recursive: true });
    writeFileSync(join(backups, 'nb-1-big-Data.db'), randomBytes(3000));
    writeFileSync(join(backups, 'nb-1-big-TOC.txt'), 'Data.db\n');

    const verbose = await run('--verbose');
    assert.equal(verbose.exitCode, 0, verbose.stderr);
    const said = messages(verbose);
    assert.match(said[0] ?? '', /^incremental incr-\S+: 2 files, 2\.9 KiB → file:\/\//);
    assert.ok(said.includes(`uploaded ${TABLE}/backups/nb-1-big-Data.db (2.9 KiB)`), said.join('\n'));
    assert.ok(said.includes(`uploaded ${TABLE}/backups/nb-1-big-TOC.txt (8 B)`), said.join('\n'));
    assert.match(said.at(-1) ?? '', /^incremental incr-\S+ complete: 2 files/);

    const again = await run('--verbose');
    assert.equal(again.exitCode, 0, again.stderr);
    assert.ok(messages(again).includes(`reused ${TABLE}/backups/nb-1-big-Data.db (2.9 KiB, already stored)`), again.stderr);

    const normal = await run();
    assert.equal(normal.exitCode, 0, normal.stderr);
    const plain = messages(normal);
    assert.match(plain[0] ?? '', /^incremental incr-\S+: 2 files/);
    assert.ok(plain.some((l) => /^confirmed 2 of 2 reused object\(s\) in the store/.test(l)), 'information lines');
    assert.ok(!plain.some((l) => /^(uploaded|reused) /.test(l)), 'no line per file by default');
    assert.match(plain.at(-1) ?? '', /complete: 2 files/);

    const quiet = await run('--quiet');
    assert.equal(quiet.exitCode, 0, quiet.stderr);
    assert.equal(messages(quiet).length, 1, quiet.stderr);
    assert.match(messages(quiet)[0] ?? '', /^incremental incr-\S+ complete: 2 files, 2\.9 KiB \(0 uploaded/);

    const both = await run('--quiet', '--verbose');
    assert.equal(both.exitCode, 2, both.stderr);
    assert.match(both.stderr, /cass-backup-run: error: --quiet and --verbose cannot be used together/);

    const json = await run('--json', '--quiet');
    assert.equal(json.exitCode, 0, json.stderr);
    assert.ok(assertDocumentedLines(json.stdout, 'incremental --json --quiet').filter((v) => v.type === 'file').length === 2,
      '--json ignores --quiet');
  });
});
