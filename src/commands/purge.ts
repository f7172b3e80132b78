import type { CatalogContext } from './catalog-context.ts';
import { UsageError } from '../errors.ts';

export interface PurgeInput {
  readonly keepLast: number | undefined;
  readonly keepDays: number | undefined;
  /** Delete; without it purge only shows what it would delete. */
  readonly yes: boolean;
  /** Objects younger than this that no manifest references may belong to a backup still in progress. */
  readonly graceHours: number;
}

export async function purgeCommand(_input: PurgeInput, _ctx: CatalogContext): Promise<void> {
  throw new UsageError('purge is not available yet');
}
