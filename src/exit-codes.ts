import { IncompleteError, LockedError, NodetoolError, StorageError, UnsafePathError, UsageError } from './errors.ts';

// Stable exit codes, documented in --help and README.
export const ExitCode = {
  ok: 0,
  usage: 2,
  nodetool: 3,
  incomplete: 4,
  locked: 75,
} as const;

export const exitCodeHelp = `Exit codes:
  0   success
  2   usage or configuration error (also: bucket missing, credentials rejected, disk too full to snapshot, a node id
      that holds another Cassandra host's backups, a cloud identity that would change, a file name no catalog can hold)
  3   nodetool failed (not found, or exited non-zero)
  4   upload, restore, purge or verification incomplete (no manifest was written for an incomplete backup; interrupted)
  75  another run holds this node: the local lock, another backup of the node id announced in the bucket, or a purge
      that deferred deleting data while a backup runs (run it again later)`;

/** The one mapping from error classes to exit codes. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof UnsafePathError) return ExitCode.usage;
  if (err instanceof NodetoolError) return ExitCode.nodetool;
  if (err instanceof LockedError) return ExitCode.locked;
  if (err instanceof StorageError) return err.permanent ? ExitCode.usage : ExitCode.incomplete;
  if (err instanceof IncompleteError) return ExitCode.incomplete;
  return ExitCode.incomplete;
}
