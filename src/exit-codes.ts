import {
  CleanupIncompleteError, IncompleteError, LockedError, NodetoolError, StorageError, UnsafePathError, UsageError,
} from './errors.ts';

// Stable exit codes, documented in --help and README.
export const ExitCode = {
  ok: 0,
  usage: 2,
  nodetool: 3,
  incomplete: 4,
  cleanup: 5,
  locked: 75,
  /** 128 + SIGPIPE: what a shell reports for a program whose reader went away (`list | head -1`). */
  brokenPipe: 141,
} as const;

// Lines of at most 96 characters: the help is wrapped at about 100 columns.
export const exitCodeHelp = `Exit codes:
  0   success
  2   usage or configuration error (also: bucket missing, credentials missing or rejected, a
      region that is not one or an endpoint host that does not resolve, disk too full to
      snapshot, a node id that holds another Cassandra host's backups, a cloud identity that
      would change, a file name no catalog can hold)
  3   nodetool failed (not found, or exited non-zero)
  4   upload, restore, purge or verification incomplete (no manifest was written for an
      incomplete backup; interrupted)
  5   the backup is complete (its manifest is stored), but local clean-up is not: uploaded
      files --delete-uploaded could not remove, or a snapshot that could not be cleared (the
      message says what to remove and how)
  75  another run holds this node: the local lock, another backup of the node id announced in
      the bucket, or a purge that deferred deleting data while a backup runs (run it again later)
  141 stdout was closed while the run was writing to it (e.g. piped into head): the run stops
      as if interrupted, and says on stderr what it left undone, if anything`;

/** The one mapping from error classes to exit codes. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof UnsafePathError) return ExitCode.usage;
  if (err instanceof NodetoolError) return ExitCode.nodetool;
  if (err instanceof LockedError) return ExitCode.locked;
  if (err instanceof CleanupIncompleteError) return ExitCode.cleanup;
  if (err instanceof StorageError) return err.permanent ? ExitCode.usage : ExitCode.incomplete;
  if (err instanceof IncompleteError) return ExitCode.incomplete;
  return ExitCode.incomplete;
}
