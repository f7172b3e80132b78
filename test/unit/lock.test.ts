// The run lock over real files and the real flock(1): who holds it is decided by the kernel, never by a pid.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, type LockDeps } from '../../src/lock.ts';
import { LockedError, UsageError } from '../../src/errors.ts';

function withLockPath(test: (path: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbr-lock-'));
    try {
      await test(join(dir, 'state', 'run.lock'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function deps(pid: number, extra: Partial<LockDeps> = {}): LockDeps {
  return { pid, hostname: `host-${pid}`, now: () => new Date('2026-12-01T03:00:00Z'), ...extra };
}

/** Whether another process (the shell's flock(1) on its own open of the file) could take the lock now. */
function freeForOthers(path: string): boolean {
  return spawnSync('flock', ['--nonblock', path, 'true']).status === 0;
}

describe('run lock', () => {
  it('is refused to a second taker while held, naming the holder, and is free again once released', withLockPath(async (path) => {
    const first = await acquireLock(path, 'snapshot', deps(111));
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')),
      { pid: 111, what: 'snapshot', since: '2026-12-01T03:00:00.000Z', hostname: 'host-111' });
    await assert.rejects(acquireLock(path, 'incremental', deps(222)), (e: unknown) => e instanceof LockedError &&
      e.message === `another cass-backup-run (pid 111, snapshot, since 2026-12-01T03:00:00.000Z, on host-111) holds ${path}`);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, 111, 'a refused run leaves the holder\'s record alone');
    await first.release();
    assert.ok(!existsSync(path), 'released: the file is gone');
    await first.release(); // a second release does nothing
    const second = await acquireLock(path, 'incremental', deps(222));
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, 222);
    await second.release();
  }));

  it('is a kernel lock that other processes see, held by this process and not by the flock(1) it ran', withLockPath(async (path) => {
    const lock = await acquireLock(path, 'snapshot', deps(process.pid));
    assert.equal(freeForOthers(path), false, 'flock(1) of another process is refused while held');
    await lock.release();
    assert.equal(freeForOthers(path), true);
  }));

  it('takes a lock file whose holder is gone, even one naming a live pid (a pid reused after a reboot)', withLockPath(async (path) => {
    mkdirSync(join(path, '..'), { recursive: true });
    for (const pid of [1, process.pid]) {
      writeFileSync(path, `${JSON.stringify({ pid, what: 'snapshot', since: '2020-01-01T00:00:00.000Z', hostname: 'before-reboot' })}\n`);
      const lock = await acquireLock(path, 'purge', deps(333));
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')),
        { pid: 333, what: 'purge', since: '2026-12-01T03:00:00.000Z', hostname: 'host-333' });
      await lock.release();
    }
  }));

  it('takes an empty or torn lock file, and names no one when refusing over one', withLockPath(async (path) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '{"pid": 12');
    const lock = await acquireLock(path, 'x', deps(444));
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, 444);
    writeFileSync(path, ''); // as a holder that has locked the file and not yet written it
    await assert.rejects(acquireLock(path, 'y', deps(555)), (e: unknown) => e instanceof LockedError &&
      e.message === `another cass-backup-run holds ${path} (it has not said who it is yet)`);
    await lock.release();
  }));

  it('never has two holders when takers and releasers race (one process, separate opens of the file)', withLockPath(async (path) => {
    let inside = 0;
    let most = 0;
    let turns = 0;
    const worker = async (pid: number): Promise<void> => {
      for (let done = 0; done < 12;) {
        let lock;
        try {
          lock = await acquireLock(path, 'race', deps(pid));
        } catch (err) {
          if (!(err instanceof LockedError)) throw err;
          await sleep(Math.random() * 5);
          continue;
        }
        inside += 1;
        most = Math.max(most, inside);
        await sleep(Math.random() * 3);
        inside -= 1;
        turns += 1;
        done += 1;
        await lock.release();
      }
    };
    await Promise.all([1, 2, 3, 4].map((pid) => worker(pid)));
    assert.equal(turns, 48);
    assert.equal(most, 1, 'at most one holder at any time');
  }));

  it('cannot open the lock file: a UsageError naming the file, not a stack trace', withLockPath(async (path) => {
    mkdirSync(path, { recursive: true }); // a directory where the file should be
    await assert.rejects(acquireLock(path, 'snapshot', deps(1)), (e: unknown) => e instanceof UsageError &&
      e.message.startsWith(`cannot open the run lock ${path} (owned by uid `) && /EISDIR/.test(e.message));
  }));

  it('without flock(1): a UsageError saying what to install', withLockPath(async (path) => {
    await assert.rejects(acquireLock(path, 'snapshot', deps(1, { flockCommand: '/nonexistent/flock' })), (e: unknown) =>
      e instanceof UsageError && /needs flock\(1\) from util-linux.*install util-linux/.test(e.message));
    assert.equal(freeForOthers(path), true, 'nothing is left holding the file');
  }));
});
