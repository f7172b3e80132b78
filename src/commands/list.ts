import type { CatalogContext } from './catalog-context.ts';
import { UsageError } from '../errors.ts';

export interface ListInput {
  readonly allNodes: boolean;
}

export async function listCommand(_input: ListInput, _ctx: CatalogContext): Promise<void> {
  throw new UsageError('list is not available yet');
}
