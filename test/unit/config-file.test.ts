import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseConfigFile, loadConfigFile, parseConfigFile } from '../../src/config/config-file.ts';
import { effectiveOptions } from '../../src/config/effective-options.ts';
import { describeOrigin, DEFAULT_CONFIG_PATH } from '../../src/config/options.ts';
import { UsageError } from '../../src/errors.ts';

const P = '/etc/cbr/config.yaml';

function fails(text: string, message: RegExp): void {
  assert.throws(() => parseConfigFile(P, text), (err: unknown) => {
    assert.ok(err instanceof UsageError, String(err));
    assert.match(err.message, message);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return true;
  }, text);
}

describe('configuration file', () => {
  it('reads every kind of option under its flag name, with the line of each', () => {
    const file = parseConfigFile(P, [
      '# nightly backups',
      'dest: s3://bucket/prod',
      'data-dir: [/a, /b]',
      'max-rate: 50MiB',
      'concurrency: 3',
      'low-priority: true',
      'cloud: aws',
      'node-id: 0123',
      'state-dir: /var/lib/x',
      'stale-snapshot-age: 0',
      '',
    ].join('\n'));
    assert.equal(file.path, P);
    const values = Object.fromEntries([...file.values].map(([k, v]) => [k, v]));
    assert.deepEqual(values, {
      dest: { value: 's3://bucket/prod', line: 2 }, 'data-dir': { value: ['/a', '/b'], line: 3 }, 'max-rate': { value: '50MiB', line: 4 },
      concurrency: { value: 3, line: 5 }, 'low-priority': { value: true, line: 6 }, cloud: { value: 'aws', line: 7 },
      'node-id': { value: '0123', line: 8 }, 'state-dir': { value: '/var/lib/x', line: 9 }, 'stale-snapshot-age': { value: 0, line: 10 },
    });
  });

  it('a single data directory may be given as a string; a block list works too', () => {
    assert.deepEqual(parseConfigFile(P, 'data-dir: /only\n').values.get('data-dir'), { value: ['/only'], line: 1 });
    assert.deepEqual(parseConfigFile(P, 'data-dir:\n  - /a\n  - /b\n').values.get('data-dir'), { value: ['/a', '/b'], line: 1 });
  });

  it('an empty file, or one of comments only, sets nothing', () => {
    assert.equal(parseConfigFile(P, '').values.size, 0);
    assert.equal(parseConfigFile(P, '# nothing yet\n').values.size, 0);
  });

  it('reports unknown keys with the nearest name and the line', () => {
    fails('dest: s3://b\nconcurency: 3\n', /^\/etc\/cbr\/config\.yaml:2: unknown option "concurency"; did you mean "concurrency"\?$/);
    fails('dataDir: /a\n', /:1: unknown option "dataDir"; did you mean "data-dir"\?/);
    fails('favourite-colour: blue\n', /:1: unknown option "favourite-colour"$/);
    fails('keep-snapshot: true\n', /:1: "keep-snapshot" is an option of the snapshot command, not a global option/);
    fails('delete-uploaded: true\n', /"delete-uploaded" is an option of the repair and incremental commands, not a global option/);
    fails('config: /other.yaml\n', /:1: "config" cannot be set in a configuration file/);
  });

  it('refuses keys that look like secrets without repeating their value', () => {
    for (const key of ['aws-secret-access-key', 'password', 'nodetool-password', 'session_token']) {
      assert.throws(() => parseConfigFile(P, `${key}: hunter2\n`), (err: unknown) =>
        err instanceof UsageError && /looks like a secret/.test(err.message) && !err.message.includes('hunter2'), key);
    }
  });

  it('reports bad values with the file, line and option: wrong type, not a choice, unreadable size', () => {
    fails('\n\ncloud: oracle\n', /^\/etc\/cbr\/config\.yaml:3: cloud: expected one of auto, aws, gcp, azure, none, got "oracle"$/);
    fails('concurrency: many\n', /:1: concurrency: expected a positive integer, got "many"$/);
    fails('concurrency: 0\n', /:1: concurrency: expected a positive integer, got 0$/);
    fails('concurrency: 2.5\n', /expected a positive integer, got 2\.5/);
    fails('nodetool-port: 70000\n', /nodetool-port: expected a port number \(1-65535\), got 70000/);
    fails('max-rate: lots\n', /:1: max-rate: cannot read size "lots"/);
    fails('multipart-threshold: 0.5 parsecs\n', /multipart-threshold: cannot read size/);
    fails('min-free-disk: 150%\n', /min-free-disk: expected a percentage of at most 100% or a size/);
    fails('json: maybe\n', /:1: json: expected true or false, got "maybe"/);
    fails('dest: [a, b]\n', /:1: dest: expected a string, got a list/);
    fails('dest: true\n', /dest: expected a string, got true/);
    fails('data-dir: [/a, [/b]]\n', /data-dir: expected a string, got a list/);
    fails('dest:\n', /:1: dest: has no value/);
    fails('data-dir: []\n', /data-dir: has no value/);
    fails('node-id: ""\n', /node-id: has no value/);
    fails('constructor: 1\n', /unknown option "constructor"/);
  });

  it('reports what is not YAML, or not a mapping, with a line', () => {
    fails('dest: s3://b\ndest: s3://c\n', /:2: not valid YAML: Map keys must be unique/);
    fails('dest: [s3://b\n', /^\/etc\/cbr\/config\.yaml:\d+: not valid YAML: /);
    fails('- dest\n- s3://b\n', /:1: expected option names and values .*, got a list/);
  });

  it('--config and CASS_BACKUP_CONFIG name a file that must exist; the default may be absent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbr-config-'));
    const missing = join(dir, 'missing.yaml');
    assert.deepEqual(chooseConfigFile({}, {}), { path: DEFAULT_CONFIG_PATH, namedBy: undefined });
    assert.deepEqual(chooseConfigFile({ config: '/f' }, { CASS_BACKUP_CONFIG: '/e' }), { path: '/f', namedBy: '--config' });
    assert.deepEqual(chooseConfigFile({}, { CASS_BACKUP_CONFIG: '/e' }), { path: '/e', namedBy: 'CASS_BACKUP_CONFIG' });
    await assert.rejects(loadConfigFile({ path: missing, namedBy: '--config' }), new RegExp(`^UsageError: --config ${missing}: no such file$`));
    await assert.rejects(loadConfigFile({ path: missing, namedBy: 'CASS_BACKUP_CONFIG' }), /CASS_BACKUP_CONFIG=.*missing\.yaml: no such file/);
    assert.equal(await loadConfigFile({ path: missing, namedBy: undefined }), undefined);
    await assert.rejects(loadConfigFile({ path: dir, namedBy: undefined }), /configuration file .*: cannot be read \(EISDIR\)/);
  });

  it('precedence: flag > environment > file > default, each with where it came from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbr-config-'));
    const path = join(dir, 'config.yaml');
    writeFileSync(path, 'bucket: from-file\nregion: eu-north-1\nconcurrency: 3\nnode-id: file-node\n');
    const r = await effectiveOptions({ 'node-id': 'flag-node' }, { BUCKET_NAME: 'env-bucket', CASS_BACKUP_NODE_ID: 'env-node' }, { defaultPath: path });
    assert.equal(r.configFile, path);
    assert.equal(r.options.nodeId, 'flag-node');
    assert.equal(r.options.bucket, 'env-bucket');
    assert.equal(r.options.concurrency, 3);
    assert.equal(r.options.region, 'eu-north-1');
    assert.equal(r.options.partConcurrency, 4);
    const origin = (name: keyof typeof r.values): string | undefined => {
      const v = r.values[name];
      return v === undefined ? undefined : describeOrigin(v.origin);
    };
    assert.equal(origin('node-id'), 'flag');
    assert.equal(origin('bucket'), 'env BUCKET_NAME');
    assert.equal(origin('concurrency'), `config ${path}:3`);
    assert.equal(origin('region'), `config ${path}:2`);
    assert.equal(origin('part-concurrency'), 'default');
    assert.equal(origin('dest'), undefined);
    const none = await effectiveOptions({}, {}, { defaultPath: join(dir, 'absent.yaml') });
    assert.equal(none.configFile, undefined);
    assert.equal(none.options.region, 'us-east-1');
  });

  it('a bad value in the file is reported even when a flag overrides it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbr-config-'));
    const path = join(dir, 'config.yaml');
    writeFileSync(path, 'concurrency: lots\n');
    await assert.rejects(effectiveOptions({ concurrency: '2', config: path }, {}), /config\.yaml:1: concurrency: expected a positive integer, got "lots"/);
  });
});
