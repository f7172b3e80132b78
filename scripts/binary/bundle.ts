// Bundles the CLI into one CommonJS file for the single executable (scripts/build-binary.sh), with what a bundle
// cannot carry as it is replaced:
// - '@node-rs/crc32' becomes src/sea/native-crc32.ts, which loads the native addon from the SEA asset `crc32.node`;
// - the version is a constant (src/version.ts), as no package.json ships beside the binary;
// - `import.meta.url` (yargs and others locate files with it) is the executable's own file URL, as a SEA's
//   `__filename` is `process.execPath`.
// The lazily imported storage adapters (src/storage/open.ts) are bundled too: a SEA cannot import from disk.
// Usage: node scripts/binary/bundle.ts OUT.cjs
import { build, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = process.argv[2];
if (!out) throw new Error('usage: bundle.ts OUT.cjs');
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

const embeddedCrc32: Plugin = {
  name: 'embedded-crc32',
  setup(b) {
    b.onResolve({ filter: /^@node-rs\/crc32$/ }, () => ({ path: `${root}src/sea/native-crc32.ts` }));
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/entry.ts'],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  plugins: [embeddedCrc32],
  define: { CBR_BUNDLED_VERSION: JSON.stringify(version), 'import.meta.url': '__cbr_import_meta_url' },
  banner: { js: "var __cbr_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  keepNames: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
if (result.warnings.length > 0) throw new Error(`bundle: ${result.warnings.length} warning(s), see above`);
const natives = Object.keys(result.metafile.inputs).filter((f) => f.endsWith('.node') || f.includes('@node-rs/crc32'));
if (natives.length > 0) throw new Error(`bundle: native code would be bundled from ${natives.join(', ')}`);
