// The tool's version: package.json's, which ships next to dist/; in the single executable, which has no
// package.json beside it, the bundler sets CBR_BUNDLED_VERSION from it at build time (scripts/binary/bundle.ts).
import { createRequire } from 'node:module';

declare const CBR_BUNDLED_VERSION: string | undefined;

export function packageVersion(): string {
  if (typeof CBR_BUNDLED_VERSION === 'string') return CBR_BUNDLED_VERSION;
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}
