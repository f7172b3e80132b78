// The installed entry point: --help explains commands, options and exit codes; --version; detect on each cloud.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { baseEnv, runCli, requireEnv, repoRoot } from '../support/run-cli.ts';

const shortHost = hostname().split('.')[0] ?? hostname();

describe('cli basics', () => {
  it('--help lists the commands, the seed variables and the exit codes', async () => {
    const run = await runCli(['--help'], baseEnv());
    assert.equal(run.exitCode, 0);
    for (const word of ['snapshot', 'repair', 'incremental', 'detect', 'BUCKET_NAME', 'REGION', '--dest', '--keep-snapshot']) {
      assert.ok(run.stdout.includes(word) || word === '--keep-snapshot', `help mentions ${word}`);
    }
    for (const code of ['0 ', '2 ', '3 ', '4 ', '75 ']) assert.match(run.stdout, new RegExp(`^\\s+${code}`, 'm'));
    const sub = await runCli(['snapshot', '--help'], baseEnv());
    assert.match(sub.stdout, /--keep-snapshot/);
    assert.match(sub.stdout, /--resume/);
  });

  it('--version prints the package version', async () => {
    const run = await runCli(['--version'], baseEnv());
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal(run.stdout.trim(), pkg.version);
  });

  it('a bad flag value is a usage error (exit 2)', async () => {
    const run = await runCli(['incremental', '--concurrency', '0', '--dest', 'file:///tmp/x'], baseEnv());
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /--concurrency: expected a positive integer, got "0"/);
    const bad = await runCli(['incremental', '--dest', 'ftp://x'], baseEnv());
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--dest must start with s3:\/\/, gs:\/\/, az:\/\/ or file:\/\//);
  });

  for (const c of [
    { cloud: 'aws', env: () => ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: requireEnv('CBR_IMDS_ENDPOINT'), BUCKET_NAME: 'cbr-test' }),
      nodeId: `${shortHost}-i-0cbr1234567890abc`, dest: 's3://cbr-test' },
    { cloud: 'gcp', env: () => ({ GCE_METADATA_HOST: requireEnv('CBR_GCE_METADATA_HOST'), BUCKET_NAME: 'cbr-test' }),
      nodeId: `${shortHost}-4520031799277581759`, dest: 'gs://cbr-test' },
    { cloud: 'none', env: () => ({}), nodeId: hostname(), dest: 'none' }, // off-cloud: the full hostname
  ]) {
    it(`detect reports ${c.cloud}, the node id, both data directories and the destination`, async () => {
      const run = await runCli(['detect', '--json', '--cassandra-yaml', requireEnv('CBR_CASSANDRA_YAML')], baseEnv(c.env()));
      assert.equal(run.exitCode, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { cloud: { cloud: string }; nodeId: string; dataDirs: string[]; destination: string };
      assert.equal(report.cloud.cloud, c.cloud);
      assert.equal(report.nodeId, c.nodeId);
      assert.deepEqual(report.dataDirs, requireEnv('CBR_DATA_DIRS').split(':'));
      assert.ok(report.destination.startsWith(c.dest), report.destination);
    });
  }
});
