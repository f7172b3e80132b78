// Point-in-time restore, end to end on a Cassandra node of its own (scripts/testenv/pitr.sh: 127.0.0.5, commit-log
// archiving to a staging directory through this checkout's `archive-commitlog`): snapshot, batch A, T1, batch B,
// T2, a DELETE, `commitlogs`, the table destroyed, then restores with --point-in-time between T2 and the delete
// (A, B and the deleted rows back) and at T1 (A without B), each replayed by the real node. Also a segment archived
// while the uploader runs, a kill -9 of the uploader mid-segment, a full staging disk, and a TIME without coverage.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import cassandra from 'cassandra-driver';
import type { Client } from 'cassandra-driver';
import { jsonEvents, repoRoot, runCli, startCli, tempDir } from '../support/run-cli.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { uniqueKeyspace } from '../support/cql.ts';
import { assertDocumentedLines } from '../support/json-schema.ts';

const testenv = join(repoRoot, 'scripts', 'testenv.sh');
const isRoot = process.getuid?.() === 0;

function testenvCmd(...args: string[]): string {
  return execFileSync(testenv, args, { encoding: 'utf8', env: process.env, stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
}

/** The PITR node's variables (pitr-env). */
function pitrVars(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of testenvCmd('pitr-env').matchAll(/(CBR_PITR_\w+)=(\S+)/g)) out[m[1]!] = m[2]!;
  return out;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('point-in-time restore on a real node with commit-log archiving', { timeout: 900_000 }, () => {
  let v: Record<string, string>;
  let client: Client;
  let env: NodeJS.ProcessEnv;
  const keyspace = uniqueKeyspace('cbr_pitr');
  const prefix = uniquePrefix('pitr');
  const nodeId = 'pitr-node';

  const cli = (args: string[], extra: Record<string, string> = {}) =>
    runCli(['--dest', s3Dest(prefix), '--commitlog-staging', v.CBR_PITR_STAGING!, ...args], { ...env, ...extra });
  const nodetool = (...args: string[]) => execFileSync(v.CBR_PITR_NODETOOL!, args, { encoding: 'utf8', timeout: 180_000 });
  const staged = () => readdirSync(v.CBR_PITR_STAGING!).filter((n) => /^CommitLog-\d+-\d+\.log$/.test(n)).sort();
  // NaN while archive-commitlog has linked the segment and not yet written its sidecar, or once it is unstaged.
  const archivedAt = (name: string) => {
    try {
      return Date.parse((JSON.parse(readFileSync(join(v.CBR_PITR_STAGING!, `${name}.archived.json`), 'utf8')) as { archivedAt: string }).archivedAt);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Number.NaN;
      throw err;
    }
  };

  async function connectNode(): Promise<Client> {
    const c = new cassandra.Client({ contactPoints: [v.CBR_PITR_HOST!], localDataCenter: 'datacenter1',
      protocolOptions: { port: Number(v.CBR_PITR_CQL_PORT) }, socketOptions: { readTimeout: 60_000 } });
    await c.connect();
    return c;
  }

  async function write(table: string, from: number, count: number, batch: string, bytes = 64): Promise<void> {
    const q = `INSERT INTO ${keyspace}.${table} (id, grp, payload) VALUES (?, ?, ?)`;
    for (let s = from; s < from + count; s += 50) {
      const writes: Promise<unknown>[] = [];
      for (let id = s; id < Math.min(s + 50, from + count); id++) writes.push(client.execute(q, [id, batch, randomBytes(bytes)], { prepare: true }));
      await Promise.all(writes);
    }
  }

  /** Fills the active segment (1 MiB) with filler rows until a segment archived after `after` is staged. */
  async function closeSegment(after: number): Promise<string> {
    let round = 0;
    return until('a segment archived after the last writes', async () => {
      await write('filler', 100_000 + round++ * 400, 400, 'filler', 1024);
      return staged().find((n) => archivedAt(n) > after);
    });
  }

  async function rows(): Promise<Map<number, string>> {
    const r = await client.execute(`SELECT id, grp FROM ${keyspace}.t`);
    return new Map(r.rows.map((row) => [Number(row.get('id')), String(row.get('grp'))]));
  }

  const tableDir = () => {
    const name = readdirSync(join(v.CBR_PITR_DATA!, keyspace)).find((d) => d.startsWith('t-'));
    assert.ok(name, 'table directory');
    return join(v.CBR_PITR_DATA!, keyspace, name);
  };

  /** Stops the node, destroys the table's SSTables and the local commit log, installs a restore and starts the node. */
  async function replayRestore(restoreDir: string): Promise<void> {
    await client.shutdown();
    nodetool('drain');
    testenvCmd('pitr-node', 'stop');
    const dir = tableDir();
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
    for (const f of readdirSync(v.CBR_PITR_COMMITLOG!)) rmSync(join(v.CBR_PITR_COMMITLOG!, f));
    const restored = join(restoreDir, keyspace, dir.split('/').at(-1)!);
    for (const f of readdirSync(restored)) cpSync(join(restored, f), join(dir, f));
    const props = join(v.CBR_PITR_CONF!, 'commitlog_archiving.properties');
    const archiveLine = readFileSync(props, 'utf8').split('\n').find((l) => l.startsWith('archive_command='))!;
    const restoreLines = readFileSync(join(restoreDir, '.cass-backup-run', 'commitlog_archiving.properties'), 'utf8')
      .split('\n').filter((l) => /^(restore_|precision=)/.test(l));
    writeFileSync(props, [archiveLine, ...restoreLines, ''].join('\n'));
    testenvCmd('pitr-node', 'start');
    writeFileSync(props, `${archiveLine}\n`); // read at start-up only: the next start replays nothing
    client = await connectNode();
  }

  before(async () => {
    testenvCmd('pitr-up');
    v = pitrVars();
    // A fresh node: its commit log has been archived since it started (the coverage of the first snapshot).
    testenvCmd('pitr-node', 'stop');
    testenvCmd('pitr-node', 'wipe');
    testenvCmd('pitr-node', 'start');
    env = s3CliEnv({ CASS_BACKUP_NODETOOL: v.CBR_PITR_NODETOOL!, CASS_BACKUP_CASSANDRA_YAML: v.CBR_PITR_YAML!, CASS_BACKUP_NODE_ID: nodeId });
    client = await connectNode();
    await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    for (const t of ['t', 'filler']) await client.execute(`CREATE TABLE ${keyspace}.${t} (id int PRIMARY KEY, grp text, payload blob)`);
  });

  after(async () => {
    await client?.shutdown().catch(() => {});
    testenvCmd('pitr-down');
  });

  let t1 = 0;
  let t2 = 0;
  let tDelete = 0;

  it('restores A, B and the deleted rows between T2 and the delete, and A alone at T1', async () => {
    await write('t', 5000, 100, 'S'); // in the snapshot
    const snap = await cli(['snapshot', '-t', 'base', keyspace]);
    assert.equal(snap.exitCode, 0, snap.stderr);
    await write('t', 0, 200, 'A');
    await sleep(1100);
    t1 = Date.now();
    await sleep(1100);
    await write('t', 1000, 200, 'B');
    await sleep(1100);
    t2 = Date.now();
    await sleep(1100);
    tDelete = Date.now();
    await client.execute(`DELETE FROM ${keyspace}.t WHERE id IN (${Array.from({ length: 50 }, (_, i) => i).join(',')})`);
    assert.equal((await rows()).size, 450);
    await closeSegment(Date.now());

    const up = await cli(['commitlogs', '--json']);
    assert.equal(up.exitCode, 0, up.stderr);
    const summary = jsonEvents(up.stdout).find((e) => e.type === 'summary');
    assert.ok(summary && Number(summary.files) > 0 && typeof summary.manifest === 'string', up.stdout);
    assert.deepEqual(staged().filter((n) => archivedAt(n) <= tDelete), [], 'uploaded segments leave staging');

    const window = await cli(['list', '--pitr', '--json']);
    assert.equal(window.exitCode, 0, window.stderr);
    assertDocumentedLines(window.stdout, 'list --pitr --json');
    const node = (JSON.parse(window.stdout) as { nodes: { windows: { from: string; to: string }[] }[] }).nodes[0]!;
    assert.equal(node.windows.length, 1, window.stdout);
    assert.ok(Date.parse(node.windows[0]!.to) > tDelete);

    // No coverage after the newest stored segment: refused, the gap named, nothing written.
    const tooLate = tempDir('pitr-late');
    const late = await cli(['restore', 'latest', '--to', tooLate, '--point-in-time', new Date(Date.parse(node.windows[0]!.to) + 1000).toISOString()]);
    assert.equal(late.exitCode, 4, late.stderr);
    assert.match(late.stderr, /no commit-log coverage: no segment archived at or after that time/);
    assert.deepEqual(readdirSync(tooLate), []);

    const middle = Math.floor((t2 + tDelete) / 2);
    const r1 = tempDir('pitr-r1');
    const restore = await cli(['restore', 'latest', '--to', r1, '--force', '--table', `${keyspace}.t`, '--point-in-time', new Date(middle).toISOString()]);
    assert.equal(restore.exitCode, 0, restore.stderr);
    assert.match(restore.stdout, /restore_point_in_time=/);
    await replayRestore(r1);
    const back = await rows();
    assert.equal(back.size, 500, 'the snapshot\'s rows, every row of A and B, the deleted ones too');
    for (let id = 0; id < 50; id++) assert.equal(back.get(id), 'A');

    const r2 = tempDir('pitr-r2');
    const atT1 = await cli(['restore', 'latest', '--to', r2, '--force', '--table', `${keyspace}.t`, '--point-in-time', new Date(t1).toISOString(), '--json']);
    assert.equal(atT1.exitCode, 0, atT1.stderr);
    const doc = assertDocumentedLines(atT1.stdout, 'restore --point-in-time --json').at(-1);
    assert.ok((doc as { pointInTime: { segments: string[] } }).pointInTime.segments.length > 0, atT1.stdout);
    await replayRestore(r2);
    const onlyA = await rows();
    assert.equal(onlyA.size, 300, 'the snapshot\'s rows and A, without B');
    assert.ok([...onlyA.values()].every((b) => b === 'A' || b === 'S'));
  });

  it('detect: archiving configured, staging writable by the Cassandra user', async () => {
    const r = await cli(['detect', '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const [doc] = assertDocumentedLines(r.stdout, 'detect --json');
    const a = (doc as { commitLogArchiving: { usesArchiveCommitlog: boolean; stagingWritable: boolean | null; problems: string[] } }).commitLogArchiving;
    assert.equal(a.usesArchiveCommitlog, true);
    assert.equal(a.stagingWritable, true);
    // The archive_command stages through a wrapper (bin/archive-commitlog) that names the staging directory itself.
    assert.deepEqual(a.problems.filter((p) => !p.includes('stages into')), []);
  });

  it('a segment archived while commitlogs runs stays staged for the next run; kill -9 mid-segment loses nothing', async () => {
    await closeSegment(Date.now());
    await closeSegment(Date.now());
    const before = staged();
    assert.ok(before.length >= 2, before.join());
    // A slow upload (64 KiB/s: a 1 MiB segment takes about 16 s), killed in the middle of a segment.
    const slow = startCli(['--dest', s3Dest(prefix), '--commitlog-staging', v.CBR_PITR_STAGING!, 'commitlogs', '--max-rate', '64KiB', '--concurrency', '1'], env);
    const later = await closeSegment(Date.now()); // archived while the uploader runs
    assert.ok(!before.includes(later));
    slow.child.kill('SIGKILL');
    const killed = await slow.done;
    assert.equal(killed.exitCode, -1, `killed by the signal, not finished: ${killed.stderr}`);
    for (const n of [...before, later]) assert.ok(staged().includes(n), `${n} is still staged`);

    const again = await cli(['commitlogs']);
    assert.equal(again.exitCode, 0, again.stderr);
    for (const n of [...before, later]) assert.ok(!staged().includes(n), `${n} uploaded`);
    const window = await cli(['list', '--pitr', '--json']);
    const node = (JSON.parse(window.stdout) as { nodes: { windows: unknown[]; segments: number }[] }).nodes[0]!;
    assert.ok(node.segments >= before.length + 1);
  });

  it('a full staging disk: archive-commitlog fails with one line and Cassandra keeps the segment', { skip: !isRoot && 'mounts a small tmpfs (root only)' }, async () => {
    const full = tempDir('pitr-full');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full]);
    const pathFile = join(v.CBR_PITR_DIR!, 'staging-path');
    try {
      writeFileSync(pathFile, `${full}\n`);
      const log = join(v.CBR_PITR_DIR!, 'logs', 'system.log');
      const logBefore = readFileSync(log, 'utf8').length;
      const mark = Date.now();
      let round = 0;
      // The segment that filled while staging pointed at the full disk: its archiving failed, and Cassandra says so.
      const failed = await until('a failed archive_command in the node\'s log', async () => {
        await write('filler', 500_000 + round++ * 400, 400, 'filler', 1024);
        const m = /archive-commitlog (CommitLog-\d+-\d+\.log): not staged in \S+: (.*)/.exec(readFileSync(log, 'utf8').slice(logBefore));
        return m ? { name: m[1]!, reason: m[2]! } : undefined;
      });
      assert.match(failed.reason, /ENOSPC|no space/i);
      nodetool('flush'); // the segment is clean now: Cassandra would delete it, but not one whose archiving failed
      await sleep(2000);
      assert.ok(existsSync(join(v.CBR_PITR_COMMITLOG!, failed.name)), `${failed.name} kept by Cassandra`);
      assert.ok(!existsSync(join(full, failed.name)), 'no partial segment under its name');
      // The same command run by hand: one line on stderr, non-zero.
      const direct = await runCli(['archive-commitlog', '--commitlog-staging', full, join(v.CBR_PITR_COMMITLOG!, failed.name), failed.name], env);
      assert.notEqual(direct.exitCode, 0);
      assert.equal(direct.stderr.trim().split('\n').length, 1, direct.stderr);
      assert.match(direct.stderr, /^cass-backup-run: error: archive-commitlog CommitLog-.*ENOSPC/);
      assert.ok(Date.now() > mark);
    } finally {
      writeFileSync(pathFile, `${v.CBR_PITR_STAGING}\n`);
      execFileSync('umount', [full]);
    }
  });
});
