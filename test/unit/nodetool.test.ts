// Our side of running nodetool: argv building, tag insertion, failure messages, output tail and passthrough.
// A tiny shell script stands in for nodetool and records its argv; real nodetool is covered by the e2e smoke test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { NodetoolError, UsageError } from '../../src/errors.ts';
import {
  TAIL_LINES,
  createNodetool,
  ensureSnapshotTag,
  parseDescribeCluster,
  parseInfo,
  parseVersion,
} from '../../src/cassandra/nodetool.ts';
import type { NodetoolDeps } from '../../src/cassandra/nodetool.ts';

let dir = '';
let counter = 0;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cbr-nodetool-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Fake {
  readonly path: string;
  argv(): Promise<string[]>;
}

/** Writes an executable that records its argv, runs `body` (shell) and exits with `exitCode`. */
async function fakeNodetool(body = '', exitCode = 0): Promise<Fake> {
  counter += 1;
  const script = path.join(dir, `nodetool-${counter}`);
  const argvFile = `${script}.argv`;
  await writeFile(script, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvFile}'\n${body}\nexit ${exitCode}\n`);
  await chmod(script, 0o755);
  return { path: script, argv: async () => (await readFile(argvFile, 'utf8')).split('\n').slice(0, -1) };
}

function deps(fake: { path: string }, extra: Partial<NodetoolDeps> = {}): NodetoolDeps {
  return { exec: execa, path: fake.path, connection: {}, passthrough: false, ...extra };
}

describe('nodetool argv', () => {
  it('puts connection options first, with -pwf and never a password', async () => {
    const fake = await fakeNodetool();
    const connection = { host: '127.0.0.1', port: 7199, username: 'cassandra', passwordFile: '/etc/jmx.pw' };
    await createNodetool(deps(fake, { connection })).repair(['-pr', 'ks1']);
    assert.deepEqual(await fake.argv(), ['-h', '127.0.0.1', '-p', '7199', '-u', 'cassandra', '-pwf', '/etc/jmx.pw', 'repair', '-pr', 'ks1']);
  });

  it('adds a generated tag in front when snapshot args have none', async () => {
    const fake = await fakeNodetool();
    const result = await createNodetool(deps(fake)).snapshot(['-kt', 'ks1.t1', '--ttl', '1d']);
    assert.match(result.tag, /^cbr-\d{8}T\d{6}Z-[0-9a-z]{4}$/);
    assert.deepEqual(result.args, ['snapshot', '-t', result.tag, '-kt', 'ks1.t1', '--ttl', '1d']);
    assert.deepEqual(await fake.argv(), result.args);
  });

  for (const args of [['-t', 'mine', 'ks1'], ['ks1', '--tag', 'mine'], ['-t=mine'], ['--tag=mine', 'ks1']]) {
    it(`keeps the operator's tag in ${args.join(' ')}`, async () => {
      const fake = await fakeNodetool();
      const result = await createNodetool(deps(fake)).snapshot(args);
      assert.equal(result.tag, 'mine');
      assert.deepEqual(await fake.argv(), ['snapshot', ...args]);
    });
  }

  it('does not read a tag after --', () => {
    const result = ensureSnapshotTag(['--', '-t'], () => 'gen');
    assert.deepEqual(result, { tag: 'gen', args: ['-t', 'gen', '--', '-t'] });
  });

  for (const args of [['-t'], ['-t', '../etc'], ['--tag='], ['-t', '.']]) {
    it(`refuses ${JSON.stringify(args)} before running anything`, async () => {
      const fake = await fakeNodetool();
      await assert.rejects(createNodetool(deps(fake)).snapshot(args), UsageError);
      await assert.rejects(fake.argv(), { code: 'ENOENT' });
    });
  }

  it('clearSnapshot names the tag and keyspaces, and refuses an empty tag (which would clear every snapshot)', async () => {
    const fake = await fakeNodetool();
    const nodetool = createNodetool(deps(fake));
    await nodetool.clearSnapshot('t1', ['ks1', 'ks2']);
    assert.deepEqual(await fake.argv(), ['clearsnapshot', '-t', 't1', 'ks1', 'ks2']);
    await assert.rejects(nodetool.clearSnapshot(''), UsageError);
  });

  it('flush with and without keyspaces', async () => {
    const fake = await fakeNodetool();
    const nodetool = createNodetool(deps(fake));
    await nodetool.flush();
    assert.deepEqual(await fake.argv(), ['flush']);
    await nodetool.flush(['ks1']);
    assert.deepEqual(await fake.argv(), ['flush', 'ks1']);
  });
});

describe('nodetool failures', () => {
  it('says nodetool was not found (ENOENT)', async () => {
    const missing = path.join(dir, 'no-such-nodetool');
    await assert.rejects(createNodetool(deps({ path: missing })).flush(), (error: unknown) => {
      assert.ok(error instanceof NodetoolError);
      assert.equal(error.message, `nodetool not found at ${missing}`);
      assert.equal(error.exitCode, undefined);
      return true;
    });
  });

  it('reports the status and the error line, and leaves the Java stack trace out of the tail', async () => {
    const body = [
      `echo 'Requested creating snapshot(s) for [ks1] with snapshot name [t1] and options {skipFlush=false}'`,
      `echo 'error: Snapshot t1 already exists.' >&2`,
      `echo '-- StackTrace --' >&2`,
      `echo 'java.io.IOException: Snapshot t1 already exists.' >&2`,
      `for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "	at org.apache.cassandra.Frame$i(Frame.java:$i)" >&2; done`,
    ].join('\n');
    const fake = await fakeNodetool(body, 2);
    await assert.rejects(createNodetool(deps(fake)).snapshot(['-t', 't1', 'ks1']), (error: unknown) => {
      assert.ok(error instanceof NodetoolError);
      assert.equal(error.message, 'nodetool snapshot exited with status 2: Snapshot t1 already exists.');
      assert.equal(error.exitCode, 2);
      assert.match(error.stderrTail, /error: Snapshot t1 already exists\./);
      assert.doesNotMatch(error.stderrTail, /at org\.apache/);
      return true;
    });
  });

  it('takes the reason from stdout too (nodetool prints "nodetool: …" there)', async () => {
    const body = `echo 'nodetool: Keyspace [nosuch] does not exist.'\necho "See 'nodetool help' or 'nodetool help <command>'."`;
    const fake = await fakeNodetool(body, 1);
    await assert.rejects(createNodetool(deps(fake)).repair(['nosuch']), {
      name: 'NodetoolError',
      message: 'nodetool repair exited with status 1: Keyspace [nosuch] does not exist.',
    });
  });

  it(`keeps only the last ${TAIL_LINES} lines, including an unterminated last line`, async () => {
    const fake = await fakeNodetool(`for i in $(seq 1 50); do echo "line $i" >&2; done\nprintf 'last words' >&2`, 3);
    await assert.rejects(createNodetool(deps(fake)).repair([]), (error: unknown) => {
      assert.ok(error instanceof NodetoolError);
      const lines = error.stderrTail.split('\n');
      assert.equal(lines.length, TAIL_LINES);
      assert.deepEqual(lines.slice(-2), ['line 50', 'last words']);
      assert.equal(error.message, 'nodetool repair exited with status 3');
      return true;
    });
  });

  it('kills nodetool after the timeout', async () => {
    const fake = await fakeNodetool('exec sleep 30');
    const started = Date.now();
    await assert.rejects(createNodetool(deps(fake, { timeoutMs: 300 })).repair([]), {
      name: 'NodetoolError',
      message: 'nodetool repair timed out after 0.3 s and was killed',
    });
    assert.ok(Date.now() - started < 10_000);
  });
});

describe('nodetool output', () => {
  it('passes stdout and stderr through to the given stream while running', async () => {
    const fake = await fakeNodetool(`echo 'to stdout'\necho 'to stderr' >&2`);
    const output = new PassThrough();
    const chunks: string[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const result = await createNodetool(deps(fake, { passthrough: true, output })).repair([]);
    assert.match(chunks.join(''), /to stdout/);
    assert.match(chunks.join(''), /to stderr/);
    assert.equal(result.stdout, '');
    assert.match(result.outputTail, /to stdout\nto stderr|to stderr\nto stdout/);
  });

  it('captures stdout for queries without passing it through', async () => {
    const fake = await fakeNodetool(`echo 'ReleaseVersion: 5.0.8'`);
    const output = new PassThrough();
    const chunks: string[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const result = await createNodetool(deps(fake, { passthrough: true, output })).run(['version'], { capture: true });
    assert.equal(result.stdout, 'ReleaseVersion: 5.0.8\n');
    assert.equal(chunks.join(''), '');
  });
});

// Verbatim output of nodetool 5.0.8 (`info -T`, `describecluster`, `version`) on the test node.
const INFO = `ID                     : cfa4bbda-0265-4e63-92c6-dfd383859c0a
Gossip active          : true
Native Transport active: true
Load                   : 114.4 KiB
Uptime (seconds)       : 109
Heap Memory (MB)       : 532.24 / 1024.00
Data Center            : datacenter1
Rack                   : rack1
Exceptions             : 0
Key Cache              : entries 8, size 640 bytes, capacity 51 MiB, 68 hits, 75 requests, 0.907 recent hit rate, 14400 save period in seconds
Percent Repaired       : 100.0%
Token                  : -1652937601210910941
Token                  : 4611686018427387904
Bootstrap state        : COMPLETED
`;
const DESCRIBE = `Cluster Information:
\tName: cbr-test
\tSnitch: org.apache.cassandra.locator.SimpleSnitch
\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner

Keyspaces:
\tks1 -> Replication class: NetworkTopologyStrategy {dc1=3}
`;

describe('nodetool info parsing', () => {
  it('parses info -T, describecluster and version', () => {
    assert.deepEqual(parseInfo(INFO), {
      hostId: 'cfa4bbda-0265-4e63-92c6-dfd383859c0a',
      tokens: ['-1652937601210910941', '4611686018427387904'],
      dataCenter: 'datacenter1',
      rack: 'rack1',
    });
    assert.deepEqual(parseDescribeCluster(DESCRIBE), { clusterName: 'cbr-test', partitioner: 'org.apache.cassandra.dht.Murmur3Partitioner',
      keyspaces: [{ name: 'ks1', strategy: 'NetworkTopologyStrategy', options: { dc1: '3' } }] });
    assert.deepEqual(parseVersion('ReleaseVersion: 5.0.8\n'), { version: '5.0.8' });
  });

  it('takes the release from describecluster when the cluster runs one, and not during a mixed-version window', () => {
    const one = `${DESCRIBE}\nDatabase versions:\n\t5.0.8: [127.0.0.1:7000, 127.0.0.2:7000]\n\nKeyspaces:\n`;
    assert.equal(parseDescribeCluster(one).version, '5.0.8');
    const two = `${DESCRIBE}\nDatabase versions:\n\t5.0.7: [127.0.0.2:7000]\n\t5.0.8: [127.0.0.1:7000]\n\nKeyspaces:\n`;
    assert.equal(parseDescribeCluster(two).version, undefined);
  });

  it('omits tokens when nodetool only says how to see them', () => {
    assert.deepEqual(parseInfo('Token : (invoke with -T/--tokens to see all 16 tokens)\n'), {});
  });

  it('info() runs the three queries and merges them', async () => {
    const body = `case "$1" in info) cat <<'EOF'\n${INFO}EOF\n;; describecluster) cat <<'EOF'\n${DESCRIBE}EOF\n;; version) echo 'ReleaseVersion: 5.0.8';; esac`;
    const fake = await fakeNodetool(body);
    const info = await createNodetool(deps(fake)).info();
    assert.equal(info.hostId, 'cfa4bbda-0265-4e63-92c6-dfd383859c0a');
    assert.equal(info.clusterName, 'cbr-test');
    assert.equal(info.version, '5.0.8');
  });

  it('info() is best effort: a failing nodetool gives an empty result, not an error', async () => {
    const fake = await fakeNodetool(`echo 'nodetool: Failed to connect' >&2`, 1);
    assert.deepEqual(await createNodetool(deps(fake)).info(), {});
    assert.deepEqual(await createNodetool(deps({ path: path.join(dir, 'missing') })).info(), {});
  });
});
