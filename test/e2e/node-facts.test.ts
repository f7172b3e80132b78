// Node facts at one nodetool JVM per run where nothing can have changed (src/cassandra/facts-cache.ts), against the
// real node: snapshots with one state directory, through a nodetool that logs each start and execs the real one.
// An ALTER KEYSPACE between two runs must show in the second manifest (the cache never hands out old replication);
// a run with the schema files unchanged starts `info` but not `describecluster`, and records the same facts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, jsonEvents, requireEnv, runCli, tempDir } from '../support/run-cli.ts';
import { sampleKeyspaceForFile, withClient } from '../support/cql.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { schemaFingerprint } from '../../src/cassandra/facts-cache.ts';

const keyspace = sampleKeyspaceForFile('cbr_facts', 20);
const dest = tempDir('dest-facts');
const nodeId = 'node-facts';
const stateDir = tempDir('state-facts');
const bin = tempDir('bin-facts');
const log = join(bin, 'starts.log');
const counting = join(bin, 'nodetool');
writeFileSync(counting, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${requireEnv('CBR_NODETOOL')}' "$@"\n`);
chmodSync(counting, 0o755);
const dataDirs = requireEnv('CBR_DATA_DIRS').split(':');

interface Keyspace { name: string; strategy: string; options: Record<string, string> }

/** One snapshot of the test keyspace; its manifest's Cassandra facts and the nodetool subcommands it started. */
async function snapshot(): Promise<{ cassandra: Record<string, unknown>; ours: Keyspace | undefined; started: string[] }> {
  writeFileSync(log, '');
  const run = await runCli(['snapshot', keyspace, '--dest', `file://${dest}`, '--node-id', nodeId, '--json'], baseEnv({
    CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: counting, CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'),
    CASS_BACKUP_STATE_DIR: stateDir,
  }));
  assert.equal(run.exitCode, 0, run.stderr);
  const tag = String(jsonEvents(run.stdout).find((e) => e.type === 'summary')?.tag);
  const manifest = JSON.parse(readFileSync(join(dest, manifestKeyOf(nodeId, tag)), 'utf8')) as StoredManifest;
  const keyspaces = manifest.cassandra.keyspaces as Keyspace[] | undefined;
  // the subcommand: the first word after the connection options (-h H -p P)
  const started = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').find((w, i, all) => !w.startsWith('-') && !/^-/.test(all[i - 1] ?? '')) ?? l);
  return { cassandra: manifest.cassandra, ours: keyspaces?.find((k) => k.name === keyspace), started };
}

describe('node facts: describecluster is remembered in the state directory, and read again when it may have changed', () => {
  it('ALTER KEYSPACE between two runs shows in the second manifest; an unchanged schema costs no describecluster', async () => {
    const first = await snapshot();
    assert.ok(first.started.includes('describecluster'), `first run: ${first.started.join(', ')}`);
    assert.deepEqual(first.ours, { name: keyspace, strategy: 'SimpleStrategy', options: { replication_factor: '1' } });
    assert.match(String(first.cassandra.hostId), /^[0-9a-f-]{36}$/);
    assert.equal(first.cassandra.clusterName, 'cbr-test');
    assert.match(String(first.cassandra.version), /^5\.0\./);

    await withClient((c) => c.execute(`ALTER KEYSPACE ${keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 1}`));
    const second = await snapshot();
    assert.deepEqual(second.ours, { name: keyspace, strategy: 'NetworkTopologyStrategy', options: { datacenter1: '1' } });
    assert.ok(second.started.includes('describecluster'), `after ALTER KEYSPACE: ${second.started.join(', ')}`);

    // Other tests share this node and change its schema at any time: look for a run during which nobody did.
    for (let attempt = 1; ; attempt++) {
      const before = await schemaFingerprint(dataDirs);
      const third = await snapshot();
      const quiet = before !== undefined && before === await schemaFingerprint(dataDirs);
      assert.deepEqual(third.ours, second.ours);
      assert.equal(third.cassandra.hostId, first.cassandra.hostId);
      assert.deepEqual(third.cassandra.tokens, first.cassandra.tokens);
      if (quiet) {
        assert.ok(!third.started.includes('describecluster'), `schema unchanged, yet: ${third.started.join(', ')}`);
        assert.equal(third.started.filter((s) => s === 'info').length, 1);
        assert.equal(third.cassandra.version, first.cassandra.version);
        assert.equal(third.cassandra.clusterName, 'cbr-test');
        break;
      }
      if (attempt === 5) assert.fail('the schema changed during each of 5 runs: the reuse could not be observed');
    }
  });
});
