// One run per node at a time. The lock is flock(2) on `<state-dir>/run.lock`, taken through util-linux's flock(1)
// on a descriptor this process keeps open (Node has no flock binding; the lock belongs to the open file, which the
// child shares and leaves to us when it exits). The kernel drops it when this process ends, however it ends
// (kill -9, OOM, reboot), so a crashed run never blocks the next one and a reused pid proves nothing either way;
// two processes can never both hold it. The file's content only says who holds it, for the refused run's message.
import { spawn } from 'node:child_process';
import { close, constants, fstat, ftruncate, open, read, stat, unlink, write, type Stats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { LockedError, UsageError } from './errors.ts';
import { stateDirError } from './state-dir-check.ts';

export interface Lock {
  /** Removes the lock file and drops the lock. Never throws; a second call does nothing. */
  release(): Promise<void>;
}

export interface LockDeps {
  /** Written into the lock file, with `what`, the time and the host, for the message of a refused run. */
  readonly pid: number;
  readonly hostname: string;
  readonly now: () => Date;
  /** The flock(1) program; `flock` from PATH unless given. */
  readonly flockCommand?: string;
}

interface Holder {
  readonly pid?: unknown;
  readonly what?: unknown;
  readonly since?: unknown;
  readonly hostname?: unknown;
}

const openFd = promisify(open);
const closeFd = promisify(close);
const fstatFd = promisify(fstat);
const statPath = promisify(stat);
const truncateFd = promisify(ftruncate);
const writeFd = promisify(write);
const readFd = promisify(read);
const unlinkPath = promisify(unlink);

/** flock(1) exits with this when the lock is held elsewhere (its own errors use sysexits codes 64 and up). */
const CONFLICT_EXIT = 99;
const ATTEMPTS = 5;

export async function acquireLock(path: string, what: string, deps: LockDeps): Promise<Lock> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const fd = await openLockFile(path);
    let held = false;
    try {
      if (!(await tryLock(fd, path, deps.flockCommand ?? 'flock'))) throw new LockedError(holderMessage(await readHolder(fd), path));
      // A holder that released removed the file after we opened it: our lock is on a file nobody else will open.
      if (!(await isStillAt(fd, path))) continue;
      const holder = { pid: deps.pid, what, since: deps.now().toISOString(), hostname: deps.hostname };
      await writeHolder(fd, holder).catch((err: unknown) => { throw stateDirError(dirname(path), err); });
      held = true;
      return heldLock(fd, path);
    } finally {
      if (!held) await closeFd(fd).catch(() => undefined);
    }
  }
  throw new LockedError(`could not take the lock ${path}: it was removed and recreated ${ATTEMPTS} times while taking it`);
}

/** Opens without truncating: the file may describe a live holder, and is only rewritten once the lock is ours. */
async function openLockFile(path: string): Promise<number> {
  try {
    return await openFd(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const owner = await statPath(path).then((s) => ` (owned by uid ${s.uid}, mode ${(s.mode & 0o777).toString(8)})`, () => '');
    throw new UsageError(`cannot open the run lock ${path}${owner} for writing: ${code}; ` +
      'run as the user that owns it, or use another --state-dir', { cause: err });
  }
}

/** Takes the lock without waiting; false when another open file holds it. */
function tryLock(fd: number, path: string, flock: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // The child gets our descriptor as its fd 3 and locks it (the lock belongs to the shared open file).
    const child = spawn(flock, ['--exclusive', '--nonblock', '--conflict-exit-code', String(CONFLICT_EXIT), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(new UsageError(err.code === 'ENOENT'
        ? `the run lock needs flock(1) from util-linux, and "${flock}" was not found on PATH: install util-linux`
        : `cannot run flock(1) ("${flock}") to take the run lock ${path}: ${err.code ?? err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(true);
      else if (code === CONFLICT_EXIT) resolve(false);
      else if (signal !== null) reject(new Error(`flock(1) was stopped by ${signal} before it took the run lock ${path}`));
      else reject(new UsageError(`flock(1) could not lock ${path} (exit ${code}): ${stderr.trim() || 'no message'}`));
    });
  });
}

async function isStillAt(fd: number, path: string): Promise<boolean> {
  const [ours, there] = await Promise.all([fstatFd(fd), statPath(path).catch(() => undefined)]);
  return there !== undefined && sameFile(ours, there);
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

async function writeHolder(fd: number, holder: Holder): Promise<void> {
  const bytes = Buffer.from(`${JSON.stringify(holder)}\n`);
  await truncateFd(fd, 0);
  await writeFd(fd, bytes, 0, bytes.length, 0);
}

async function readHolder(fd: number): Promise<Holder | undefined> {
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await readFd(fd, buf, 0, buf.length, 0);
    const parsed: unknown = JSON.parse(buf.subarray(0, bytesRead).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? parsed as Holder : undefined;
  } catch {
    return undefined; // empty (the holder is about to write it) or not ours
  }
}

function holderMessage(holder: Holder | undefined, path: string): string {
  if (holder === undefined || typeof holder.pid !== 'number') {
    return `another cass-backup-run holds ${path} (it has not said who it is yet)`;
  }
  const host = typeof holder.hostname === 'string' ? `, on ${holder.hostname}` : '';
  return `another cass-backup-run (pid ${holder.pid}, ${String(holder.what ?? '?')}, since ${String(holder.since ?? '?')}${host}) holds ${path}`;
}

function heldLock(fd: number, path: string): Lock {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // Removed while still held, so that no one can lock this file after us and believe it is the lock; one that
      // opened it before the removal sees it is gone (isStillAt) and starts again. Closing drops the lock.
      if (await isStillAt(fd, path).catch(() => false)) await unlinkPath(path).catch(() => undefined);
      await closeFd(fd).catch(() => undefined);
    },
  };
}
