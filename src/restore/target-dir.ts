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
  return (await openTargetTree(dir, force)).root;
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
 * directory is needed). Checks only what exists; `TargetTree.parentsOf` checks again as it creates. Returns whether
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

/**
 * The restore directory of one restore. Each directory on the way to the targets is created or checked once, and
 * the answer shared by every file in it: with 20,000 small files, an lstat per parent per file was most of the
 * restore's file-system calls.
 */
export interface TargetTree {
  /** DIR, absolute. */
  readonly root: string;
  /** DIR was missing or empty when the restore began: nothing in it predates this restore. */
  readonly wasEmpty: boolean;
  /**
   * Creates the directories of a target (a file's relative POSIX path) one at a time, refusing any that is a
   * symlink or not a directory. True when the file's own directory was created by this restore, so nothing else
   * can be in it: no earlier file, no planted symlink under the target's name.
   */
  parentsOf(relPath: string): Promise<boolean>;
}

/** Prepares DIR (see prepareRoot) and returns its tree; `wasEmpty` when DIR was missing or had no entries. */
export async function openTargetTree(dir: string, force: boolean): Promise<TargetTree> {
  const state = await inspectRoot(dir);
  if (!state.exists) await mkdir(state.root, { recursive: true });
  else if (state.needsForce && !force) throw notEmptyError(dir);
  return targetTree(state.root, state.empty);
}

/** The tree of a root already prepared; `rootFresh` only when nothing in root predates this restore. */
export function targetTree(root: string, rootFresh = false): TargetTree {
  const dirs = new Map<string, Promise<boolean>>();
  const dir = (path: string): Promise<boolean> => {
    let known = dirs.get(path);
    if (known === undefined) {
      known = createOrCheckDir(root, path);
      dirs.set(path, known);
    }
    return known;
  };
  return {
    root,
    wasEmpty: rootFresh,
    async parentsOf(relPath: string): Promise<boolean> {
      let path = root;
      let fresh = rootFresh;
      for (const segment of relPath.split('/').slice(0, -1)) {
        path = join(path, segment);
        fresh = await dir(path);
      }
      return fresh;
    },
  };
}

/** Refuses, before any download, a target whose path meets a symlink or a non-directory; a fresh DIR has none. */
export async function assertTargetsSafe(tree: TargetTree, targets: Iterable<string>): Promise<void> {
  if (tree.wasEmpty) return;
  const checked = new Set<string>();
  for (const target of targets) await assertNoSymlinks(tree.root, target, checked);
}

/** True when mkdir made it (this restore's own directory); else it must already be a directory, not a symlink. */
async function createOrCheckDir(root: string, path: string): Promise<boolean> {
  try {
    await mkdir(path);
    return true;
  } catch (err) {
    if (codeOf(err) !== 'EEXIST') throw err;
  }
  const st = await lstat(path);
  if (st.isSymbolicLink()) throw symlinkError(root, path);
  if (!st.isDirectory()) throw new UnsafePathError(`${path} is in the way of a restored file's directory and is not a directory`);
  return false;
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
