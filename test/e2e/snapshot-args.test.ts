// `cass-backup-run snapshot ks1` and `-t mytag -kt ks1.t1` hand their arguments to nodetool snapshot and upload
// only what that snapshot contains.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, runCli, requireEnv, tempDir, jsonEvents } from '../support/run-cli.ts';
import { sampleKeyspaceForFile } from '../support/cql.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';

const ks1 = sampleKeyspaceForFile('cbr_args_a', 50);
const ks2 = sampleKeyspaceForFile('cbr_args_b', 50);
const dest = tempDir('dest-args');
const nodeId = 'node-args';

function env(): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('state'),
  });
}

function manifest(tag: string): StoredManifest {
  return JSON.parse(readFileSync(join(dest, manifestKeyOf(nodeId, tag)), 'utf8')) as StoredManifest;
}


describe('snapshot arguments pass through to nodetool', () => {
  it('snapshot <keyspace> uploads only that keyspace', async () => {
    const run = await runCli(['snapshot', ks1, '--dest', `file://${dest}`, '--node-id', nodeId, '--json'], env());
    assert.equal(run.exitCode, 0, run.stderr);
    const tag = String(jsonEvents(run.stdout).find((e) => e.type === 'summary')?.tag);
    const m = manifest(tag);
    assert.ok(m.files.length > 0);
    assert.ok(m.files.every((f) => f.path.startsWith(`${ks1}/`)), 'only the named keyspace');
    assert.ok(m.files.some((f) => f.path.startsWith(`${ks1}/users-`)) && m.files.some((f) => f.path.startsWith(`${ks1}/events-`)));
    assert.deepEqual(m.nodetool?.command, ['nodetool', 'snapshot', '-t', tag, ks1]);
  });

  it('-t mytag -kt ks.table uses the tag and uploads only that table', async () => {
    const tag = `mytag-${Date.now()}`;
    const run = await runCli(['snapshot', '-t', tag, '-kt', `${ks1}.users`, '--dest', `file://${dest}`, '--node-id', nodeId], env());
    assert.equal(run.exitCode, 0, run.stderr);
    const m = manifest(tag);
    assert.equal(m.tag, tag);
    assert.ok(m.files.length > 0);
    assert.ok(m.files.every((f) => f.path.startsWith(`${ks1}/users-`) && f.path.includes(`/snapshots/${tag}/`)));
  });

  it('a tag that already has a backup is refused before any snapshot is taken', async () => {
    const tag = `dup-${Date.now()}`;
    const first = await runCli(['snapshot', '-t', tag, ks2, '--dest', `file://${dest}`, '--node-id', nodeId], env());
    assert.equal(first.exitCode, 0, first.stderr);
    const again = await runCli(['snapshot', '-t', tag, ks2, '--dest', `file://${dest}`, '--node-id', nodeId], env());
    assert.equal(again.exitCode, 2);
    assert.match(again.stderr, new RegExp(`a backup named "${tag}" already exists`));
    assert.doesNotMatch(again.stderr, /Requested creating snapshot/);
  });
});
