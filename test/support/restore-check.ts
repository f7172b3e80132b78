// The data check that ends a catalog sequence: TRUNCATE a keyspace's sample tables, restore a backup into a new
// directory with the real CLI, run the `nodetool import` commands it prints, and find every row again.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from './run-cli.ts';
import { countRows, withClient, SAMPLE_TABLES } from './cql.ts';
import { nodetool } from './nodetool.ts';

export async function rowCounts(keyspace: string): Promise<Record<string, number>> {
  return withClient(async (client) => {
    const out: Record<string, number> = {};
    for (const t of SAMPLE_TABLES) out[t] = await countRows(client, keyspace, t);
    return out;
  });
}

/** Every row there before (nothing may be written since the backup) is back after restore + import. */
export async function assertRestoreBringsBack(o: {
  readonly args: readonly string[]; readonly env: NodeJS.ProcessEnv; readonly tag: string; readonly keyspace: string; readonly until: boolean;
}): Promise<void> {
  const before = await rowCounts(o.keyspace);
  await withClient(async (client) => { for (const t of SAMPLE_TABLES) await client.execute(`TRUNCATE ${o.keyspace}.${t}`); });
  const dir = join(tempDir('restore'), 'r');
  const run = await runCli(['restore', o.tag, '--to', dir, '--table', o.keyspace, ...(o.until ? ['--until', 'now'] : []), ...o.args, '--json'], o.env);
  assert.equal(run.exitCode, 0, `restore failed (${run.exitCode}):\n${run.stderr}`);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { tables: { import: string }[] };
  for (const t of result.tables) nodetool(...t.import.split(' ').slice(1));
  assert.deepEqual(await rowCounts(o.keyspace), before, `${o.keyspace} rows after restore`);
}
