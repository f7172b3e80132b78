// The restore directory: writes land inside it and nowhere else. Paths are built from validated relative
// segments, and every directory on the way is checked with lstat, so a symlink already inside DIR (planted,
// or left by an earlier restore) is refused instead of followed.
import { lstat, mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { UnsafePathError, UsageError } from '../errors.ts';
import { assertSafeRelativePath } from '../catalog/keys.ts';

export interface RootState {
  /** DIR, absolute. */
  readonly root: string;
  readonly exists: boolean;
  /** True when DIR is missing or has no entries. */
  readonly empty: boolean;
  /** A restore would refuse DIR without --force (it exists and is not empty). */
  readonly needsForce: boolean;
}

/**
 * What DIR is now, read-only (a dry run reports it): refuses a DIR that exists and is not a directory, since
 * no option makes that work.
 */
export async function inspectRoot(dir: string): Promise<RootState> {
  const root = resolve(dir);
  const st = await lstatOrUndefined(root);
  if (st === undefined) return { root, exists: false, empty: true, needsForce: false };
  // DIR itself may be a symlink the operator chose (e.g. onto a bigger disk): follow that one, not those below.
  const isDir = st.isDirectory() || (st.isSymbolicLink() && (await stat(root)).isDirectory());
  if (!isDir) throw new UsageError(`--to ${dir} exists and is not a directory`);
  const empty = (await readdir(root)).length === 0;
  return { root, exists: true, empty, needsForce: !empty };
}

/** Creates DIR when missing; refuses a file, and a non-empty directory unless `force`. Returns it absolute. */
export async function prepareRoot(dir: string, force: boolean): Promise<string> {
  const state = await inspectRoot(dir);
  if (!state.exists) {
    await mkdir(state.root, { recursive: true });
    return state.root;
  }
  if (state.needsForce && !force) throw notEmptyError(dir);
  return state.root;
}

function notEmptyError(dir: string): UsageError {
  return new UsageError(`--to ${dir} is not empty; restore into an empty directory, or pass --force to write into it anyway`);
}

/** The absolute path of a relative target, after checking it cannot leave root. */
export function insideRoot(root: string, relPath: string): string {
  assertSafeRelativePath(relPath);
  const abs = join(root, ...relPath.split('/'));
  if (!abs.startsWith(root + sep)) throw new UnsafePathError(`restore target ${JSON.stringify(relPath)} is outside ${root}`);
  return abs;
}

/**
 * Refuses the target when anything already on its path below root is a symlink (or a non-directory where a
 * directory is needed). Checks only what exists; `ensureParents` checks again as it creates. Returns whether
 * a regular file is already there under the target's name. Read-only.
 */
export async function assertNoSymlinks(root: string, relPath: string, checkedDirs: Set<string> = new Set()): Promise<boolean> {
  const segments = relPath.split('/');
  let path = root;
  for (const [i, segment] of segments.entries()) {
    path = join(path, segment);
    const last = i === segments.length - 1;
    if (!last && checkedDirs.has(path)) continue;
    const st = await lstatOrUndefined(path);
    if (st === undefined) return false; // nothing further down exists yet
    if (st.isSymbolicLink()) throw symlinkError(root, path);
    if (!last && !st.isDirectory()) throw new UnsafePathError(`${path} is in the way of a restored file's directory and is not a directory`);
    if (last && !st.isFile()) throw new UnsafePathError(`${path} exists and is not a regular file`);
    if (!last) checkedDirs.add(path);
  }
  return true;
}

/** Creates the directories of relDir one at a time under root, refusing any that is (or becomes) a symlink. */
export async function ensureParents(root: string, relDir: string): Promise<void> {
  let path = root;
  for (const segment of relDir.split('/')) {
    path = join(path, segment);
    let st = await lstatOrUndefined(path);
    if (st === undefined) {
      await mkdir(path).catch((err: unknown) => (codeOf(err) === 'EEXIST' ? undefined : Promise.reject(err)));
      st = await lstat(path);
    }
    if (st.isSymbolicLink()) throw symlinkError(root, path);
    if (!st.isDirectory()) throw new UnsafePathError(`${path} is in the way of a restored file's directory and is not a directory`);
  }
}

/** Refuses to replace a symlink (rename would replace the link, but a symlink here means someone meddled). */
export async function assertReplaceable(root: string, path: string): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (st?.isSymbolicLink()) throw symlinkError(root, path);
  if (st !== undefined && !st.isFile()) throw new UnsafePathError(`${path} exists and is not a regular file`);
}

function symlinkError(root: string, path: string): UnsafePathError {
  return new UnsafePathError(`refusing to restore through the symlink ${path} (inside ${root}): it could lead outside the directory`);
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
