// Bad input, one case per row: the expected exit code and a message that says what is wrong. Each row runs the
// real CLI; cases that need a real service use the loopback Cassandra and S3 server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { waitFor } from '../support/watch.ts';
import { join } from 'node:path';
import { baseEnv, runCli, startCli, requireEnv, tempDir, jsonEvents } from '../support/run-cli.ts';
import { execFileSync } from 'node:child_process';
import { s3CliEnv } from '../support/s3-env.ts';
import { hangingServer, expiredTokenS3, type Running } from '../support/fake-servers.ts';
import { sampleKeyspaceForFile } from '../support/cql.ts';

interface Case {
  readonly name: string;
  readonly args: () => string[];
  readonly env?: () => Record<string, string | undefined>;
  readonly exit: number;
  readonly message: RegExp;
}

const keyspace = sampleKeyspaceForFile('cbr_bad', 10);
let hanging: Running;
let expired: Running;
const T = 'ks/t-0123456789abcdef0123456789abcdef';

function cassandraEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_CLOUD: 'none', CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'), CASS_BACKUP_STATE_DIR: tempDir('state'),
    CASS_BACKUP_RETRY_ATTEMPTS: '2', ...extra,
  });
}

const dest = (): string => `file://${tempDir('dest')}`;

function file(path: string, content = ''): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const cases: Case[] = [
  { name: 'unknown command', args: () => ['backup'], exit: 2, message: /unknown command "backup"/ },
  { name: 'no command', args: () => [], exit: 2, message: /Name a command/ },
  { name: 'concurrency 0', args: () => ['incremental', '--concurrency', '0', '--dest', dest()], exit: 2, message: /--concurrency: expected a positive integer, got "0"/ },
  { name: 'concurrency from env not a number', args: () => ['incremental', '--dest', dest()], env: () => ({ CASS_BACKUP_CONCURRENCY: 'many' }), exit: 2, message: /CASS_BACKUP_CONCURRENCY \(for --concurrency\): expected a positive integer, got "many"/ },
  { name: 'unknown cloud', args: () => ['detect', '--cloud', 'oracle'], exit: 2, message: /--cloud: expected one of auto, aws, gcp, azure, none, got "oracle"/ },
  { name: 'unreadable size', args: () => ['incremental', '--multipart-threshold', 'lots', '--dest', dest()], exit: 2, message: /--multipart-threshold: cannot read size "lots"/ },
  { name: 'destination scheme', args: () => ['incremental', '--dest', 'ftp://host/x'], exit: 2, message: /--dest must start with s3:\/\/, gs:\/\/, az:\/\/ or file:\/\// },
  { name: 'invalid bucket name', args: () => ['incremental', '--node-id', 'n'], env: () => ({ BUCKET_NAME: 'Bad_Bucket', CASS_BACKUP_CLOUD: 'aws' }), exit: 2, message: /invalid bucket name "Bad_Bucket"/ },
  { name: 'node id with a slash', args: () => ['incremental', '--dest', dest(), '--node-id', 'a/b'], exit: 2, message: /--node-id "a\/b"/ },
  { name: 'JMX password on the command line', args: () => ['snapshot', '-pw', 'hunter2', '--dest', dest()], exit: 2, message: /never put on a command line: use -pwf FILE/ },
  { name: 'extra argument to incremental', args: () => ['incremental', 'ks1', '--dest', dest()], exit: 2, message: /incremental takes no arguments, got: ks1/ },
  { name: 'state directory not writable', args: () => ['incremental', '--dest', dest(), '--state-dir', join(file(join(tempDir('s'), 'f')), 'sub')], exit: 2, message: /state directory .* is not writable/ },
  { name: 'cassandra.yaml missing', args: () => ['incremental', '--dest', dest(), '--cassandra-yaml', '/nonexistent/cassandra.yaml'], env: () => ({ CASS_BACKUP_CASSANDRA_YAML: undefined }), exit: 2, message: /\/nonexistent\/cassandra\.yaml/ },
  { name: 'cassandra.yaml garbage', args: () => ['incremental', '--dest', dest(), '--cassandra-yaml', file(join(tempDir('y'), 'cassandra.yaml'), '- just\n- a list\n')], env: () => ({ CASS_BACKUP_CASSANDRA_YAML: undefined }), exit: 2, message: /cassandra\.yaml/ },
  { name: 'data directory missing', args: () => ['incremental', '--dest', dest(), '--data-dir', '/nonexistent/data'], exit: 2, message: /\/nonexistent\/data/ },
  { name: 'data directory without tables', args: () => ['incremental', '--dest', dest(), '--data-dir', tempDir('empty-data')], exit: 2, message: /no Cassandra tables under .*check --data-dir or cassandra\.yaml/ },
  { name: 'resume of a snapshot this state directory has no record of', args: () => ['snapshot', '--resume', 'no-such-tag', '--dest', dest()], exit: 2, message: /no record of a snapshot "no-such-tag" .*name every one of them with --data-dir/ },
  { name: 'resume of a snapshot that does not exist', args: () => ['snapshot', '--resume', 'no-such-tag', '--dest', dest(), '--data-dir', requireEnv('CBR_DATA_DIRS').split(':')[0] ?? ''], exit: 2, message: /no snapshot "no-such-tag" under .* to resume/ },
  { name: 'symlink inside a snapshot pointing outside the data directory', args: () => {
    const data = tempDir('data-link');
    mkdirSync(join(data, T, 'snapshots', 'tag1'), { recursive: true });
    writeFileSync(join(data, T, 'snapshots', 'tag1', 'nb-1-big-Data.db'), 'x');
    symlinkSync('/etc/passwd', join(data, T, 'snapshots', 'tag1', 'nb-2-big-Data.db'));
    return ['snapshot', '--resume', 'tag1', '--dest', dest(), '--data-dir', data];
  }, exit: 2, message: /symlink/i },
  { name: 'a tag that already exists', args: () => {
    const d = tempDir('dest-dup');
    file(join(d, 'node-bad', '.cass-backup-run', 'manifests', 'taken.json'), '{}');
    return ['snapshot', '-t', 'taken', keyspace, '--dest', `file://${d}`, '--node-id', 'node-bad'];
  }, exit: 2, message: /a backup named "taken" already exists/ },
  { name: 'wrong region', args: () => ['incremental', '--dest', `s3://${requireEnv('CBR_S3_BUCKET')}/bad`, '--region', 'eu-west-1'], env: () => s3Env(), exit: 2, message: /not in the configured region/ },
  { name: 'expired credentials', args: () => ['incremental', '--dest', 's3://cbr-test/bad', '--s3-endpoint', `http://${expired.host}`], env: () => s3Env(), exit: 2, message: /ExpiredToken/ },
  { name: 'metadata server that hangs', args: () => ['incremental'], env: () => ({ CASS_BACKUP_CLOUD: undefined, BUCKET_NAME: 'my-bucket', CASS_BACKUP_METADATA_TIMEOUT_MS: '500',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://${hanging.host}`, GCE_METADATA_HOST: hanging.host }), exit: 2, message: /no cloud was detected/ },
  { name: 'free disk below the threshold', args: () => ['snapshot', keyspace, '--dest', dest(), '--min-free-disk', '100%'], exit: 2, message: /refusing to snapshot/ },
  { name: 'purge without a retention rule', args: () => ['purge', '--dest', dest(), '--node-id', 'n'], exit: 2, message: /--keep-last|--keep-days/ },
  { name: 'nodetool not executable', args: () => ['snapshot', keyspace, '--dest', dest(), '--nodetool', file(join(tempDir('nt'), 'nodetool'), 'not a program')], exit: 3, message: /nodetool/ },
  // A prefix or path that some stores normalise on write but not in listings: refused before anything is written.
  ...['s3://bkt/a//b', 's3://bkt//a', 'gs://bkt/./x', 'file:///a//b', 'file:///a/../b'].flatMap((url): Case[] => [
    { name: `snapshot --dest ${url}`, args: () => ['snapshot', keyspace, '--dest', url], exit: 2, message: badSegment(url) },
    { name: `list --dest ${url}`, args: () => ['list', '--dest', url, '--node-id', 'n'], exit: 2, message: badSegment(url) },
  ]),
];

function badSegment(url: string): RegExp {
  const escaped = url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`--dest ${escaped}: the (prefix|path) has (an empty segment \\("//"\\)|a "\\.\\.?" segment); remove it`);
}

function s3Env(): Record<string, string | undefined> {
  const e = s3CliEnv({ CASS_BACKUP_RETRY_ATTEMPTS: '1' });
  return { AWS_ACCESS_KEY_ID: e.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: e.AWS_SECRET_ACCESS_KEY,
    CASS_BACKUP_S3_ENDPOINT: e.CASS_BACKUP_S3_ENDPOINT, CASS_BACKUP_RETRY_ATTEMPTS: '1' };
}

before(async () => {
  hanging = await hangingServer();
  expired = await expiredTokenS3();
});

after(async () => {
  await hanging.close();
  await expired.close();
});

describe(`bad input (${cases.length + 2} cases)`, () => {
  it('has at least 20 cases', () => assert.ok(cases.length + 2 >= 20));

  it('a file deleted between enumeration and upload: a snapshot fails (exit 4), an incremental skips it', async () => {
    const data = tempDir('data-vanish');
    for (const area of ['snapshots/v1', 'backups']) {
      mkdirSync(join(data, T, area), { recursive: true });
      for (let i = 1; i <= 12; i++) writeFileSync(join(data, T, area, `nb-${i}-big-Data.db`), Buffer.alloc(512 * 1024, i));
    }
    const e = cassandraEnv();
    const slow = ['--concurrency', '1', '--max-rate', '2MiB', '--data-dir', data, '--node-id', 'node-vanish'];
    for (const { args, exit, message, victim, journal } of [
      { args: ['snapshot', '--resume', 'v1', '--keep-snapshot'], exit: 4, message: /1 of 12 files were not stored \(first: .*nb-9-big-Data\.db: file disappeared before upload\)/,
        victim: join(data, T, 'snapshots/v1/nb-9-big-Data.db'), journal: 'snapshot-v1' },
      { args: ['incremental'], exit: 0, message: /warning: .*backups\/nb-9-big-Data\.db disappeared before upload; skipped/,
        victim: join(data, T, 'backups/nb-9-big-Data.db'), journal: 'incremental' },
    ]) {
      const run = startCli([...args, ...slow, '--dest', dest()], e);
      // Enumerated and uploading (the first file is in the journal); nb-9 sorts last and is not sent yet.
      const lines = join(String(e.CASS_BACKUP_STATE_DIR), 'journal', 'node-vanish', `${journal}.jsonl`);
      await waitFor('the first confirmed upload', async () => existsSync(lines) && readFileSync(lines, 'utf8').includes('\n'), 60_000);
      rmSync(victim);
      const done = await run.done;
      assert.equal(done.exitCode, exit, done.stderr);
      assert.match(done.stderr, message);
    }
  });

  it('a full disk during restore → exit 4 naming the problem, and nothing reported as restored', async () => {
    const d = tempDir('dest-full');
    const e = cassandraEnv({ CASS_BACKUP_NODE_ID: 'node-full' });
    const backup = await runCli(['snapshot', '-t', `full-${Date.now()}`, '--dest', `file://${d}`, '--json'], e);
    assert.equal(backup.exitCode, 0, backup.stderr);
    const tag = String(jsonEvents(backup.stdout).find((x) => x.type === 'summary')?.tag);
    const small = tempDir('tmpfs');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', small]);
    try {
      const run = await runCli(['restore', tag, '--to', join(small, 'restore'), '--dest', `file://${d}`], e);
      assert.equal(run.exitCode, 4, run.stderr);
      assert.match(run.stderr, /ENOSPC|no space left/i);
      assert.doesNotMatch(run.stderr, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
    } finally {
      execFileSync('umount', [small]);
    }
  });
  for (const c of cases) {
    it(`${c.name} → exit ${c.exit}`, async () => {
      const run = await runCli(c.args(), cassandraEnv(c.env?.() ?? {}));
      assert.equal(run.exitCode, c.exit, `${run.stderr}\n${run.stdout}`);
      const errorLine = run.stderr.split('\n').find((l) => l.startsWith('cass-backup-run: error:')) ?? run.stderr;
      assert.match(errorLine, c.message);
      assert.doesNotMatch(run.stderr, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
    });
  }
});
