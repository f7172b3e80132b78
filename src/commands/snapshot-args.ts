// Reading nodetool snapshot's own arguments where the tool needs to know them. Pure.

/** The tag given with -t/--tag (also -t=X, --tag=X), if any. */
export function tagFromSnapshotArgs(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-t' || a === '--tag') return args[i + 1];
    const m = /^(?:-t|--tag)=(.*)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}
