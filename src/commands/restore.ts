import type { CatalogContext } from './catalog-context.ts';
import { UsageError } from '../errors.ts';

export interface RestoreInput {
  /** A snapshot backup tag, or `latest`. */
  readonly backup: string;
  readonly to: string;
  /** keyspace or keyspace.table names; empty = everything. */
  readonly tables: readonly string[];
  /** Also apply incremental backups taken after the snapshot, up to this time (ISO 8601 or `now`). */
  readonly until: string | undefined;
  /** Write into a non-empty directory. */
  readonly force: boolean;
}

export async function restoreCommand(_input: RestoreInput, _ctx: CatalogContext): Promise<void> {
  throw new UsageError('restore is not available yet');
}
