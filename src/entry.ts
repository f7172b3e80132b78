#!/usr/bin/env node
// The package's bin, and the single executable's entry (scripts/build-binary.sh). It checks the Node.js version
// before the rest is loaded: ES modules are all evaluated before their importer's code runs, so a check in main.ts
// came after a dependency had already failed on an old Node with a stack trace. Only then does it load main.
import { nodeVersionProblem } from './node-version.ts';
import { ExitCode } from './exit-codes.ts';

const problem = nodeVersionProblem(process.version);
if (problem === undefined) {
  // Not a top-level await: the single executable's bundle is CommonJS, which has none.
  void import('./main.ts');
} else {
  process.stderr.write(`cass-backup-run: error: ${problem}\n`);
  process.exitCode = ExitCode.usage;
}
