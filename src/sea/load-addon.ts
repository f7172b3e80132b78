// Loads a native addon from its bytes: written into a fresh directory that only this user can enter (mkdtemp,
// 0700), loaded with process.dlopen, then removed. The candidate places are the temporary directory (TMPDIR) and,
// for hosts that mount /tmp noexec, the cache directory under the user's home from the password database (not
// $HOME, which sudo may leave pointing at another user's home).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.ts';

export interface Crc32Addon {
  crc32c(input: Uint8Array | string, initialState?: number | null): number;
  crc32(input: Uint8Array | string, initialState?: number | null): number;
}

export function addonDirCandidates(): string[] {
  return [tmpdir(), join(userInfo().homedir, '.cache', 'cass-backup-run')];
}

/**
 * The addon's exports, from the first candidate directory where it loads and whose exports include `expected`.
 * Throws one UsageError (the host must change something: exit 2) naming every place tried and why it failed.
 */
export function loadAddonFromBytes<T>(bytes: Uint8Array, expected: string, candidates: readonly string[] = addonDirCandidates()): T {
  const failures: string[] = [];
  for (const base of candidates) {
    let dir: string | undefined;
    try {
      mkdirSync(base, { recursive: true, mode: 0o700 });
      dir = mkdtempSync(join(base, 'cass-backup-run-addon-'));
      const file = join(dir, 'addon.node');
      writeFileSync(file, bytes, { mode: 0o700, flag: 'wx' });
      const module = { exports: {} as Record<string, unknown> };
      process.dlopen(module, file, constants.dlopen.RTLD_NOW);
      if (typeof module.exports[expected] !== 'function') throw new Error(`the addon has no ${expected}()`);
      return module.exports as T;
    } catch (err) {
      failures.push(`${base}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new UsageError(`cannot load the embedded native addon (${failures.join('; ')}): ` +
    'set TMPDIR to a writable directory on a file system not mounted noexec');
}
