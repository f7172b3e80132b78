// The command line as an operator types it: what is ours and what is nodetool's (checked against the real
// nodetool's options before anything runs), global options before or after the command, one value per flag,
// -h / -V, numeric values that say what they got, and the configuration file with its precedence.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnv, runCli, requireEnv, tempDir, jsonEvents } from '../support/run-cli.ts';
import { sampleKeyspaceForFile } from '../support/cql.ts';
import { manifestKeyOf, type StoredManifest } from '../support/manifest.ts';
import { nodetool } from '../support/nodetool.ts';

// Flushed, so that a snapshot with --skip-flush still has SSTables to upload.
const keyspace = sampleKeyspaceForFile('cbr_argv', 30, async (ks) => void nodetool('flush', ks));
const DEFAULT_CONFIG = '/etc/cass-backup-run/config.yaml';

function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('state'), ...extra,
  });
}

/** A nodetool that appends each call's arguments to a log (one line per call), then runs the real one. */
function recordingNodetool(): { path: string; calls: () => string[] } {
  const dir = tempDir('nt-rec');
  const log = join(dir, 'calls.log');
  const path = join(dir, 'nodetool');
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${requireEnv('CBR_NODETOOL')}' "$@"\n`);
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []) };
}

function manifest(dest: string, nodeId: string, tag: string): StoredManifest {
  return JSON.parse(readFileSync(join(dest, manifestKeyOf(nodeId, tag)), 'utf8')) as StoredManifest;
}

function configFile(text: string): string {
  const path = join(tempDir('config'), 'config.yaml');
  writeFileSync(path, text);
  return path;
}

interface DetectJson {
  readonly nodeId: string;
  readonly configFile: string | null;
  readonly options: Record<string, { value: unknown; source: string }>;
}

describe('arguments: ours and nodetool\'s', () => {
  it('a typo of one of our options is a usage error with a suggestion, and nodetool is never run', async () => {
    const nt = recordingNodetool();
    for (const [typo, meant] of [['--keep-snapshots', '--keep-snapshot'], ['--skip-flsh', '--skip-flush'], ['--dets', '--dest']] as const) {
      const run = await runCli(['snapshot', keyspace, typo, '--dest', `file://${tempDir('dest')}`, '--nodetool', nt.path], env());
      assert.equal(run.exitCode, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`cass-backup-run: error: unknown option ${typo}: .*did you mean ${meant}\\?`));
      assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
    }
    const other = await runCli(['snapshot', '-pr', '--nodetool', nt.path, '--dest', `file://${tempDir('dest')}`], env());
    assert.equal(other.exitCode, 2);
    assert.match(other.stderr, /-pr is an option of nodetool repair, not of nodetool snapshot/);
    assert.deepEqual(nt.calls(), [], 'nodetool was never run');
  });

  it('nodetool snapshot\'s own options pass through (-t, -kt, -sf, --ttl, --tag, --kt-list, --skip-flush)', async () => {
    const nt = recordingNodetool();
    const dest = tempDir('dest-pass');
    for (const [tag, args] of [
      [`short-${Date.now()}`, (t: string) => ['-t', t, '-kt', `${keyspace}.users`, '-sf', '--ttl', '1h']],
      [`long-${Date.now()}`, (t: string) => [`--tag=${t}`, '--kt-list', `${keyspace}.users`, '--skip-flush']],
    ] as const) {
      const run = await runCli(['snapshot', ...args(tag), '--dest', `file://${dest}`, '--node-id', 'node-argv', '--nodetool', nt.path], env());
      assert.equal(run.exitCode, 0, run.stderr);
      const m = manifest(dest, 'node-argv', tag);
      assert.ok(m.files.length > 0);
      assert.ok(m.files.every((f) => f.path.startsWith(`${keyspace}/users-`) && f.path.includes(`/snapshots/${tag}/`)), 'only that table');
      assert.deepEqual(m.nodetool?.command, ['nodetool', 'snapshot', ...args(tag)]);
    }
    const snapshots = nt.calls().filter((c) => c.includes('snapshot') && !c.includes('clearsnapshot'));
    assert.equal(snapshots.length, 2, nt.calls().join('\n'));
    assert.match(snapshots[0] ?? '', /^snapshot -t short-\d+ -kt cbr_argv\S*\.users -sf --ttl 1h$/);
  });

  it('global options work before and after the command; each takes one value, so none swallows the command', async () => {
    const dest = tempDir('dest-order');
    const [d1, d2] = requireEnv('CBR_DATA_DIRS').split(':') as [string, string];
    const globals = ['--dest', `file://${dest}`, '--node-id', 'node-order', '--data-dir', d1, '--data-dir', d2, '--json'];
    const before = await runCli([...globals, 'snapshot', keyspace], env());
    assert.equal(before.exitCode, 0, before.stderr);
    const after = await runCli(['snapshot', '--data-dir', d1, keyspace, ...globals.slice(0, 4), '--data-dir', d2, '--json'], env());
    assert.equal(after.exitCode, 0, after.stderr);
    for (const run of [before, after]) {
      const tag = String(jsonEvents(run.stdout).find((e) => e.type === 'summary')?.tag);
      const m = manifest(dest, 'node-order', tag);
      assert.deepEqual(m.dataDirs, [d1, d2]);
      assert.ok(m.files.length > 0 && m.files.every((f) => f.path.startsWith(`${keyspace}/`)));
      assert.deepEqual(m.nodetool?.command, ['nodetool', 'snapshot', '-t', tag, keyspace]);
    }
  });

  it('-h is --help and -V is --version; -h HOST outside snapshot/repair is refused, not taken for help', async () => {
    const top = await runCli(['-h'], env());
    assert.equal(top.exitCode, 0, top.stderr);
    assert.ok(top.stdout.indexOf('Commands:') < top.stdout.indexOf('--dest'), 'commands first');
    assert.match(top.stdout, /^\s+75\s/m);
    const sub = await runCli(['snapshot', '-h'], env());
    assert.equal(sub.exitCode, 0, sub.stderr);
    const at = (text: string): number => {
      const i = sub.stdout.indexOf(text);
      assert.ok(i >= 0, `snapshot help has ${text}`);
      return i;
    };
    assert.ok(at('Examples:') < at('Options of snapshot:') && at('--keep-snapshot') < at('Destination options:') && at('--resume') < at('--dest'),
      'the command\'s own options and examples come before the global options');
    assert.ok(at('Destination options:') < at('Exit codes:'));
    const version = await runCli(['-V'], env());
    assert.equal(version.exitCode, 0);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
    const host = await runCli(['-h', 'db1', 'snapshot'], env());
    assert.equal(host.exitCode, 2);
    assert.match(host.stderr, /-h means --help here.*--nodetool-host HOST/);
  });

  it('a numeric option says what it got; an option of another command is named as such', async () => {
    const run = await runCli(['incremental', '--concurrency', 'abc', '--dest', `file://${tempDir('dest')}`], env());
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /--concurrency: expected a positive integer, got "abc"/);
    const keep = await runCli(['purge', '--keep-last', 'two', '--dest', `file://${tempDir('dest')}`, '--node-id', 'n'], env());
    assert.equal(keep.exitCode, 2);
    assert.match(keep.stderr, /--keep-last: expected a whole number \(0 or more\), got "two"/);
    const other = await runCli(['list', '--keep-last', '3', '--dest', `file://${tempDir('dest')}`], env());
    assert.equal(other.exitCode, 2);
    assert.match(other.stderr, /--keep-last is an option of purge, not of list/);
  });
});

describe('the configuration file', () => {
  it('file < environment < flag, each value shown by detect --json with where it came from', async () => {
    const path = configFile('cloud: none\nretry-attempts: 4\nconcurrency: 3\nnode-id: from-file\nmax-rate: 50MiB\n');
    const run = await runCli(['detect', '--json', '--config', path, '--node-id', 'from-flag'],
      env({ CASS_BACKUP_CLOUD: undefined, CASS_BACKUP_CONCURRENCY: '5', CASS_BACKUP_NODE_ID: 'from-env' }));
    assert.equal(run.exitCode, 0, run.stderr);
    const report = JSON.parse(run.stdout) as DetectJson;
    assert.equal(report.configFile, path);
    assert.equal(report.nodeId, 'from-flag');
    assert.deepEqual(report.options['node-id'], { value: 'from-flag', source: 'flag' });
    assert.deepEqual(report.options.concurrency, { value: 5, source: 'env CASS_BACKUP_CONCURRENCY' });
    assert.deepEqual(report.options['retry-attempts'], { value: 4, source: `config ${path}:2` });
    assert.deepEqual(report.options.cloud, { value: 'none', source: `config ${path}:1` });
    assert.deepEqual(report.options['max-rate'], { value: '50MiB', source: `config ${path}:5` });
    assert.deepEqual(report.options['lease-timeout'], { value: 600, source: 'default' });
    // Named by the environment instead of --config.
    const viaEnv = await runCli(['detect', '--json'], env({ CASS_BACKUP_CONFIG: path, CASS_BACKUP_CLOUD: undefined }));
    assert.equal(viaEnv.exitCode, 0, viaEnv.stderr);
    assert.deepEqual((JSON.parse(viaEnv.stdout) as DetectJson).options['node-id'], { value: 'from-file', source: `config ${path}:4` });
  });

  it('a backup run takes its destination, node id, data directories and nodetool from the file', async () => {
    const nt = recordingNodetool();
    const dest = tempDir('dest-file');
    const dirs = requireEnv('CBR_DATA_DIRS').split(':');
    const path = configFile(`dest: file://${dest}\nnode-id: node-file\ndata-dir:\n${dirs.map((d) => `  - ${d}\n`).join('')}nodetool: ${nt.path}\n`);
    const tag = `file-${Date.now()}`;
    const run = await runCli(['snapshot', '-t', tag, keyspace, '--config', path], env({ CASS_BACKUP_NODETOOL: undefined }));
    assert.equal(run.exitCode, 0, run.stderr);
    const m = manifest(dest, 'node-file', tag);
    assert.deepEqual(m.dataDirs, dirs);
    assert.ok(m.files.length > 0);
    assert.ok(nt.calls().some((c) => c.endsWith(`snapshot -t ${tag} ${keyspace}`)), nt.calls().join('\n'));
  });

  it('an unknown key or a bad value is reported with the file and line (exit 2)', async () => {
    for (const [text, line, message] of [
      ['dest: file:///tmp/x\nconcurency: 3\n', 2, /unknown option "concurency"; did you mean "concurrency"\?/],
      ['dest: file:///tmp/x\n\ncloud: oracle\n', 3, /cloud: expected one of auto, aws, gcp, azure, none, got "oracle"/],
      ['max-rate: lots\n', 1, /max-rate: cannot read size "lots"/],
      ['concurrency: many\n', 1, /concurrency: expected a positive integer, got "many"/],
      ['json: [true]\n', 1, /json: expected true or false, got a list/],
      ['keep-snapshot: true\n', 1, /"keep-snapshot" is an option of the snapshot command, not a global option/],
      ['dest: [a\n', 2, /not valid YAML/], // where the YAML parser finds the list unclosed: at its end
    ] as const) {
      const path = configFile(text);
      const run = await runCli(['detect', '--config', path], env());
      assert.equal(run.exitCode, 2, `${text}\n${run.stderr}`);
      const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      assert.match(run.stderr, new RegExp(`^cass-backup-run: error: ${escaped}:${line}: `), run.stderr);
      assert.match(run.stderr, message);
    }
  });

  it('an explicit file that is missing is exit 2; the default path, absent, is no file at all', async (t) => {
    const missing = join(tempDir('config'), 'nope.yaml');
    const flag = await runCli(['detect', '--config', missing], env());
    assert.equal(flag.exitCode, 2);
    assert.match(flag.stderr, new RegExp(`--config ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no such file`));
    const fromEnv = await runCli(['detect'], env({ CASS_BACKUP_CONFIG: missing }));
    assert.equal(fromEnv.exitCode, 2);
    assert.match(fromEnv.stderr, /CASS_BACKUP_CONFIG=.*nope\.yaml: no such file/);
    if (existsSync(DEFAULT_CONFIG)) return t.skip(`${DEFAULT_CONFIG} exists on this machine`);
    const none = await runCli(['detect', '--json'], env());
    assert.equal(none.exitCode, 0, none.stderr);
    const report = JSON.parse(none.stdout) as DetectJson;
    assert.equal(report.configFile, null);
    assert.deepEqual(report.options.cloud, { value: 'none', source: 'env CASS_BACKUP_CLOUD' });
  });
});
