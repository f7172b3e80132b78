// `archive-commitlog <path> <name>`, run by Cassandra's archive_command for every closed segment: put the
// segment into the staging directory durably and return at once. A hard link (no bytes copied) when the staging
// directory is on the segment's file system, else a copy; either way the file and the directory are fsynced
// before exit 0, so a segment reported archived survives a crash. No network, no lock, no configuration file:
// Cassandra must never wait on an upload, and any failure leaves Cassandra keeping the segment.
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseSegmentName } from './segment.ts';
import { UsageError } from '../errors.ts';

export interface StageResult {
  readonly staged: string;
  readonly how: 'linked' | 'copied' | 'already staged';
}

/** The sidecar a staged segment carries: when it was archived and by which run of Cassandra (for coverage). */
export interface StagedFacts {
  readonly archivedAt: string;
  /** Start time of the process that ran archive_command (Cassandra's JVM), when /proc tells it. */
  readonly cassandraStartedAt?: string;
}

export const FACTS_SUFFIX = '.archived.json';

export async function stageSegment(path: string, name: string, stagingDir: string, facts: StagedFacts): Promise<StageResult> {
  if (basename(path) !== name) throw new UsageError(`archive-commitlog: ${path} is not named ${name}`);
  if (parseSegmentName(name) === undefined) throw new UsageError(`archive-commitlog: ${name} is not a commit-log segment name (CommitLog-<version>-<id>.log)`);
  await mkdir(stagingDir, { recursive: true });
  const target = join(stagingDir, name);
  const source = await stat(path);
  let how: StageResult['how'];
  try {
    await link(path, target);
    how = 'linked';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') how = await alreadyStaged(source.ino, source.dev, source.size, target, path);
    else if (code === 'EXDEV' || code === 'EPERM') how = await copyDurably(path, target, source.mtime);
    else throw err;
  }
  await fsyncFile(target);
  // Archived again while still staged (Cassandra re-archives leftovers at start-up): the first archive time stays,
  // the one that bounds the segment's writes.
  const factsPath = join(stagingDir, `${name}${FACTS_SUFFIX}`);
  if (how !== 'already staged' || !(await exists(factsPath))) await writeFacts(factsPath, facts);
  await fsyncDir(stagingDir);
  return { staged: target, how };
}

/** The name is staged already (Cassandra archives leftover segments again at start-up): same file, or replace. */
async function alreadyStaged(ino: number, dev: number, size: number, target: string, path: string): Promise<StageResult['how']> {
  const there = await stat(target);
  if (there.ino === ino && there.dev === dev) return 'already staged';
  if (there.size === size && (await sameBytes(path, target))) return 'already staged';
  // A different file under the same segment name: keep both rather than lose one.
  throw new Error(`${target} is staged already with other content than ${path}; upload it (cass-backup-run commitlogs) or move it aside`);
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  return x.equals(y);
}

/** Another file system: copy to a temporary name, fsync, rename, so that a half copy never has the segment's name. */
async function copyDurably(path: string, target: string, mtime: Date): Promise<StageResult['how']> {
  const tmp = `${target}.partial`;
  await copyFile(path, tmp, constants.COPYFILE_FICLONE);
  await utimes(tmp, mtime, mtime);
  await fsyncFile(tmp);
  try {
    await link(tmp, target);
  } finally {
    await unlink(tmp);
  }
  return 'copied';
}

async function writeFacts(path: string, facts: StagedFacts): Promise<void> {
  const tmp = `${path}.partial`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(`${JSON.stringify(facts)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** When the process `pid` started, from /proc (undefined elsewhere or when it cannot be read). */
export async function processStartTime(pid: number): Promise<Date | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 (starttime) counted from field 3
    const btime = /^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'));
    if (!Number.isFinite(ticks) || !btime) return undefined;
    return new Date(Number(btime[1]) * 1000 + (ticks / 100) * 1000); // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
