// The Node.js this tool needs. src/entry.ts checks it before anything else is loaded: on an older Node a
// dependency fails with a TypeError stack trace while its module is evaluated, long before main could say why.
// It imports nothing; entry.ts's only other import is exit-codes.ts (constants and plain error classes). The e2e
// test test/e2e/install.test.ts runs the entry on Node 20 and fails if either starts loading more.

export const MIN_NODE_MAJOR = 22;

/** Why this Node.js cannot run the tool, or undefined when it can. `version` is `process.version` ("v20.20.2"). */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  return major >= MIN_NODE_MAJOR ? undefined : `Node.js >= ${MIN_NODE_MAJOR} is required (this is ${version})`;
}
