// The run lock (<state-dir>/run.lock) end to end with the built CLI: a lock file left by a previous boot never
// blocks, runs started together against a stale lock never both hold it, a holder killed with -9 leaves nothing
// that blocks, and a lock file that cannot be used fails with one clear line and exit 2.
// A holder is `snapshot --resume` of a scratch snapshot slowed by --max-rate; a quick taker is `purge --yes`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { baseEnv, requireEnv, runCli, startCli, tempDir, type CliResult } from '../support/run-cli.ts';

const tag = 'lock-tag';
const nodeId = 'node-run-lock';
const dataDir = tempDir('data-lock');
const tableDir = join(dataDir, 'ks_lock', 'tbl-0123456789abcdef0123456789abcdef', 'snapshots', tag);
const MiB = 1024 * 1024;

before(() => {
  mkdirSync(tableDir, { recursive: true });
  writeFileSync(join(tableDir, 'nb-1-big-Data.db'), randomBytes(16 * MiB)); // 16 s at 1 MiB/s: held long enough
});

after(() => rmSync(dataDir, { recursive: true, force: true }));

function env(stateDir: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({ CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'), CASS_BACKUP_STATE_DIR: stateDir, ...extra });
}

/** A run that takes the lock and keeps it for many seconds. */
function holdingRun(stateDir: string, via: readonly string[] = []): { child: ChildProcess; done: Promise<CliResult> } {
  return startCli(['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, '--dest', `file://${tempDir('dest-lock')}`,
    '--node-id', nodeId, '--max-rate', '1MiB'], env(stateDir), via);
}

/** A run that takes the lock and gives it back at once. */
function quickRun(stateDir: string, extraEnv: Record<string, string | undefined> = {}, via: readonly string[] = []): Promise<CliResult> {
  return runCli(['purge', '--yes', '--keep-last', '1', '--dest', `file://${tempDir('dest-lock')}`, '--node-id', nodeId],
    env(stateDir, extraEnv), 120_000, via);
}

function writeLockFile(stateDir: string, pid: number): string {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, 'run.lock');
  writeFileSync(path, `${JSON.stringify({ pid, what: 'snapshot', since: '2020-01-01T03:00:00.000Z', hostname: 'before-reboot' })}\n`);
  return path;
}

function deadPid(): number {
  const gone = spawnSync('true');
  assert.ok(gone.pid > 0);
  return gone.pid;
}

function lockHolderPid(lockFile: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(lockFile, 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(check(), `waited 60 s for ${what}`);
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('cass-backup-run: error:'));
}

function assertOneLastErrorLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(errorLines(stderr).length, 1, stderr);
  assert.match(lines.at(-1) ?? '', pattern, stderr);
}

describe('run lock', () => {
  it('a lock file left by a previous boot, naming a live unrelated pid, does not block the next run', async () => {
    const stateDir = tempDir('state-lock');
    for (const pid of [1, process.pid]) {
      const lockFile = writeLockFile(stateDir, pid);
      const run = await quickRun(stateDir);
      assert.equal(run.exitCode, 0, `pid ${pid}: ${run.stderr}`);
      assert.deepEqual(errorLines(run.stderr), []);
      assert.ok(!existsSync(lockFile), 'released at the end of the run');
    }
  });

  it('of four runs started together against a stale lock file, exactly one holds the lock and the others exit 75', { timeout: 180_000 }, async () => {
    const stateDir = tempDir('state-lock');
    const lockFile = writeLockFile(stateDir, deadPid());
    const runs = [1, 2, 3, 4].map(() => holdingRun(stateDir));
    const pending = new Map(runs.map((r, i) => [i, r.done.then((result) => ({ i, result }))]));
    const refused: CliResult[] = [];
    while (refused.length < 3) {
      const { i, result } = await Promise.race(pending.values());
      pending.delete(i);
      refused.push(result);
    }
    const holder = runs[[...pending.keys()][0]!]!;
    assert.equal(holder.child.exitCode, null, 'the holder is still running');
    assert.equal(lockHolderPid(lockFile), holder.child.pid);
    for (const r of refused) {
      assert.equal(r.exitCode, 75, r.stderr);
      assertOneLastErrorLine(r.stderr, new RegExp(`^cass-backup-run: error: another cass-backup-run \\(pid ${holder.child.pid}, snapshot, since \\S+, on \\S+\\) holds ${lockFile}$`));
    }
    holder.child.kill('SIGTERM');
    const stopped = await holder.done;
    assert.equal(stopped.exitCode, 4, stopped.stderr);
    assert.ok(!existsSync(lockFile), 'the holder released the lock as it stopped');
  });

  it('kill -9 of the holder: the next run proceeds at once', { timeout: 120_000 }, async () => {
    const stateDir = tempDir('state-lock');
    const lockFile = join(stateDir, 'run.lock');
    const holder = holdingRun(stateDir);
    await waitFor('the holder to take the lock', () => lockHolderPid(lockFile) === holder.child.pid);
    const refused = await quickRun(stateDir);
    assert.equal(refused.exitCode, 75, refused.stderr);
    holder.child.kill('SIGKILL');
    assert.equal((await holder.done).exitCode, -1, 'killed by the signal');
    assert.equal(lockHolderPid(lockFile), holder.child.pid, 'the dead holder\'s lock file is still there');
    // Its nodetool (a JVM started while it held the lock) may outlive it: it must not have inherited the lock.
    const next = await quickRun(stateDir);
    assert.equal(next.exitCode, 0, next.stderr);
    assert.ok(!existsSync(lockFile));
  });

  it('a lock file this user may not write (left by root): exit 2 with one line naming it', async (t) => {
    const stateDir = tempDir('state-lock');
    const lockFile = writeLockFile(stateDir, deadPid());
    const left = readFileSync(lockFile, 'utf8');
    let via: string[] = [];
    if (process.getuid?.() === 0) {
      // Root writes any file; without CAP_DAC_OVERRIDE it is held to the file's mode like any other user.
      if (spawnSync('setpriv', ['--version']).status !== 0) return t.skip('needs setpriv(1) to drop root\'s file-access override');
      chownSync(lockFile, 65534, 65534);
      via = ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search', '--'];
    } else {
      chmodSync(lockFile, 0o444);
    }
    const run = await quickRun(stateDir, {}, via);
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneLastErrorLine(run.stderr, new RegExp(`^cass-backup-run: error: cannot open the run lock ${lockFile} \\(owned by uid \\d+, mode \\d+\\) ` +
      'for writing: EACCES; run as the user that owns it, or use another --state-dir$'));
    assert.equal(readFileSync(lockFile, 'utf8'), left, 'the file is left as it was');
  });

  it('without flock(1) on PATH: exit 2 saying what to install', async () => {
    const run = await quickRun(tempDir('state-lock'), { PATH: tempDir('empty-path') });
    assert.equal(run.exitCode, 2, run.stderr);
    assertOneLastErrorLine(run.stderr, /^cass-backup-run: error: the run lock needs flock\(1\) from util-linux, .*install util-linux$/);
  });
});
