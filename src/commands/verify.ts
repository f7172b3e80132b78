import type { CatalogContext } from './catalog-context.ts';
import { UsageError } from '../errors.ts';

export interface VerifyInput {
  /** A backup tag, or `latest`. */
  readonly backup: string;
  readonly deep: boolean;
}

export async function verifyCommand(_input: VerifyInput, _ctx: CatalogContext): Promise<void> {
  throw new UsageError('verify is not available yet');
}
