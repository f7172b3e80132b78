// Node identity end to end, with the built CLI, the real Cassandra and versitygw:
// 1. two hosts whose names share the first DNS label (db1.dc1… and db1.dc2…, each in its own UTS namespace) and
//    one destination keep apart: purge on one leaves the other's only snapshot, restore latest gives each its own;
// 2. a node identified on AWS (amazon-ec2-metadata-mock) whose metadata later refuses or stalls refuses to run
//    under the off-cloud id (exit 2, nothing written), retries long enough for a service that comes back, and
//    goes on under its old id once metadata answers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { jsonEvents, requireEnv, requireOwnHostnames, runCli, runCliAs, tempDir, type CliResult } from '../support/run-cli.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { s3Reader } from '../support/stores.ts';
import { readStoredManifest } from '../support/manifest.ts';
import {
  countRows, createSampleSchema, dropKeyspace, insertRows, sampleKeyspaceForFile, uniqueKeyspace, withClient, SAMPLE_TABLES,
} from '../support/cql.ts';
import { closedLoopbackPort, listen } from '../support/loopback.ts';
import { nodetool } from '../support/nodetool.ts';

function ok(run: CliResult, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

/** The last JSON document on stdout (catalog commands print one; backup commands end with their summary). */
function lastDoc<T>(run: CliResult): T {
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as T;
}

function tagOf(run: CliResult): string {
  return String(jsonEvents(run.stdout).find((e) => e.type === 'summary')?.tag);
}

/** Node ids under `prefix` in the bucket. */
async function nodeIdsUnder(prefix: string): Promise<Set<string>> {
  const keys = await s3Reader().list(`${prefix}/`);
  return new Set([...keys.keys()].map((k) => k.slice(prefix.length + 1).split('/')[0] ?? ''));
}

interface RestoreDoc {
  ok: boolean;
  tag: string;
  tables: { keyspace: string; table: string; path: string; import: string }[];
}

describe('two hosts db1.dc1.example.com and db1.dc2.example.com, one destination, no --node-id', () => {
  const prefix = uniquePrefix('identity-hosts');
  const dest = s3Dest(prefix);
  const hosts = [
    { name: 'db1.dc1.example.com', keyspace: uniqueKeyspace('cbr_id_dc1'), rows: 120, stateDir: tempDir('state-dc1') },
    { name: 'db1.dc2.example.com', keyspace: uniqueKeyspace('cbr_id_dc2'), rows: 80, stateDir: tempDir('state-dc2') },
  ] as const;
  const [host1, host2] = hosts;
  type Host = (typeof hosts)[number];
  // --cloud auto (metadata at closed loopback ports): the default path an operator's cron takes off-cloud.
  const cli = (h: Host, ...args: string[]) =>
    runCliAs(h.name, [...args, '--dest', dest], s3CliEnv({ CASS_BACKUP_CLOUD: undefined, CASS_BACKUP_STATE_DIR: h.stateDir }));

  before(async () => {
    await requireOwnHostnames();
    await withClient(async (client) => {
      for (const h of hosts) {
        await createSampleSchema(client, h.keyspace);
        for (const table of SAMPLE_TABLES) await insertRows(client, h.keyspace, table, 0, h.rows);
      }
    });
  });
  after(async () => {
    await withClient(async (client) => {
      for (const h of hosts) await dropKeyspace(client, h.keyspace);
    });
    await s3Reader().deletePrefix(`${prefix}/`);
  });

  it('each host keeps its own node id: purge on one leaves the other\'s only snapshot, restore latest gives each its own data', async () => {
    const snapshot = async (h: Host): Promise<string> => {
      const run = await cli(h, 'snapshot', h.keyspace, '--json');
      ok(run, `snapshot on ${h.name}`);
      return tagOf(run);
    };
    const host1Old = await snapshot(host1);
    const host2Only = await snapshot(host2);
    const host1New = await snapshot(host1);

    assert.deepEqual(await nodeIdsUnder(prefix), new Set([host1.name, host2.name]), 'one node id per host: its full hostname');
    const store = s3Reader();
    for (const [h, tag] of [[host1, host1New], [host2, host2Only]] as const) {
      const manifest = await readStoredManifest(store, `${prefix}/${h.name}`, tag);
      assert.equal(manifest.nodeId, h.name);
      assert.equal(manifest.hostname, h.name, 'the hostname fact is the full hostname');
      assert.ok(manifest.files.every((f) => f.path.startsWith(`${h.keyspace}/`)), `${h.name} stored only its keyspace`);
      const remembered = JSON.parse(readFileSync(join(h.stateDir, 'identity.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(remembered.nodeId, h.name, 'the state dir remembers the identity');
      assert.deepEqual(remembered.cloud, { cloud: 'none' });
    }

    const purge = await cli(host1, 'purge', '--keep-last', '1', '--yes', '--json');
    ok(purge, 'purge on host 1');
    const purged = lastDoc<{ nodeId: string; expired: { tag: string }[]; kept: { tag: string }[] }>(purge);
    assert.equal(purged.nodeId, host1.name);
    assert.deepEqual(purged.expired.map((b) => b.tag), [host1Old], 'host 1 expired its own older snapshot only');
    assert.deepEqual(purged.kept.map((b) => b.tag), [host1New]);

    const verify = await cli(host2, 'verify', 'latest', '--json');
    ok(verify, 'verify latest on host 2');
    const verified = lastDoc<{ ok: boolean; node: string; tag: string }>(verify);
    assert.deepEqual([verified.ok, verified.node, verified.tag], [true, host2.name, host2Only], 'host 2 still has its only snapshot');

    for (const h of hosts) {
      const dir = join(tempDir(`restore-${h.name}`), 'restore');
      const run = await cli(h, 'restore', 'latest', '--to', dir, '--json');
      ok(run, `restore latest on ${h.name}`);
      const restored = lastDoc<RestoreDoc>(run);
      assert.equal(restored.tag, h === host1 ? host1New : host2Only);
      const keyspaces = readdirSync(dir).filter((d) => !d.startsWith('.')); // .cass-backup-run/: the restore's own notes
      assert.deepEqual(keyspaces, [h.keyspace], `${h.name} restored its own keyspace, nothing else`);
      assert.deepEqual(restored.tables.map((t) => `${t.keyspace}.${t.table}`).sort(), SAMPLE_TABLES.map((t) => `${h.keyspace}.${t}`).sort());
      for (const t of restored.tables) assert.ok(readdirSync(t.path).some((f) => f.endsWith('-Data.db')), `${t.path} holds SSTables`);
      if (h !== host2) continue;
      // The restored files are the real thing: emptied tables get every row back through nodetool import.
      await withClient(async (client) => {
        for (const table of SAMPLE_TABLES) await client.execute(`TRUNCATE ${h.keyspace}.${table}`);
      });
      for (const t of restored.tables) {
        const [cmd, ...args] = t.import.split(' ');
        assert.equal(cmd, 'nodetool');
        nodetool(...args);
      }
      await withClient(async (client) => {
        for (const table of SAMPLE_TABLES) assert.equal(await countRows(client, h.keyspace, table), h.rows, `${table} rows after restore`);
      });
    }
  });
});

/** An HTTP proxy to `target` that never answers the requests `stall(n)` picks (n counts from 1). */
async function stallingProxy(target: string, stall: (n: number) => boolean): Promise<{ endpoint: string; requests: () => number; close: () => Promise<void> }> {
  const upstream = new URL(target);
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (stall(++requests)) return; // read nothing, answer nothing: the client's timeout must end it
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  const port = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('a node identified on AWS whose instance metadata later refuses or stalls', () => {
  const keyspace = sampleKeyspaceForFile('cbr_id_cloud', 50);
  const prefix = uniquePrefix('identity-cloud');
  const dest = s3Dest(prefix);
  const stateDir = tempDir('state-cloud');
  const host = hostname();
  const cloudId = `${host.split('.')[0] ?? host}-i-0cbr1234567890abc`;
  /** --cloud auto with AWS metadata at `imds` (the GCE host stays a closed port), this node's state dir. */
  const env = (imds: string) => s3CliEnv({ CASS_BACKUP_CLOUD: undefined, CASS_BACKUP_STATE_DIR: stateDir, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds });
  const snapshot = (imds: string) => runCli(['snapshot', keyspace, '--dest', dest, '--json'], env(imds));
  const refusal = new RegExp(`this node was identified as aws instance i-0cbr1234567890abc \\(us-east-1a\\), node id "${cloudId}" ` +
    `\\(remembered in ${stateDir}/identity\\.json, last seen [^)]+\\); refusing to switch to node id "${host.replace(/\./g, '\\.')}": ` +
    `fix metadata access, or pass --node-id ${cloudId} to keep the old id, or --cloud none to switch deliberately`);
  let keysAfterFirstRun = new Set<string>();

  after(() => s3Reader().deletePrefix(`${prefix}/`));

  const assertRefusedAndNothingWritten = async (run: CliResult) => {
    assert.equal(run.exitCode, 2, `exit 2 (usage), got ${run.exitCode}:\n${run.stderr}`);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('cass-backup-run: error:'));
    assert.equal(errors.length, 1, run.stderr);
    assert.match(errors[0] ?? '', refusal);
    assert.deepEqual(new Set((await s3Reader().list(`${prefix}/`)).keys()), keysAfterFirstRun, 'nothing written anywhere');
    assert.equal((await s3Reader().list(`${prefix}/${host}/`)).size, 0, `nothing under ${host}/`);
  };

  it('a first run with metadata stores under <hostname>-<instance_id> and remembers it', async () => {
    const run = await snapshot(requireEnv('CBR_IMDS_ENDPOINT'));
    ok(run, 'snapshot with metadata');
    const manifest = await readStoredManifest(s3Reader(), `${prefix}/${cloudId}`, tagOf(run));
    assert.equal(manifest.nodeId, cloudId);
    assert.equal(manifest.cloud.instanceId, 'i-0cbr1234567890abc');
    assert.equal(manifest.hostname, host, 'the hostname fact is the full hostname');
    assert.deepEqual(await nodeIdsUnder(prefix), new Set([cloudId]));
    keysAfterFirstRun = new Set((await s3Reader().list(`${prefix}/`)).keys());
    const detect = await runCli(['detect', '--json', '--dest', dest], env(requireEnv('CBR_IMDS_ENDPOINT')));
    ok(detect, 'detect');
    const report = JSON.parse(detect.stdout) as { nodeId: string; remembered: { nodeId: string; cloud: { instanceId: string } } | null };
    assert.equal(report.nodeId, cloudId);
    assert.equal(report.remembered?.nodeId, cloudId, 'detect shows the remembered identity');
  });

  it('metadata refusing (closed port): exit 2 after bounded retries, naming the remembered id and the way out', async () => {
    await assertRefusedAndNothingWritten(await snapshot(`http://127.0.0.1:${await closedLoopbackPort()}`));
  });

  it('metadata stalling longer than the metadata timeout: exit 2 too, after retrying', async () => {
    const proxy = await stallingProxy(requireEnv('CBR_IMDS_ENDPOINT'), () => true);
    try {
      await assertRefusedAndNothingWritten(await snapshot(proxy.endpoint));
      assert.ok(proxy.requests() > 1, `detection was retried (${proxy.requests()} requests)`);
    } finally {
      await proxy.close();
    }
  });

  it('metadata that stalls once and then answers: the retry finds it and the run goes on under the old id', async () => {
    const proxy = await stallingProxy(requireEnv('CBR_IMDS_ENDPOINT'), (n) => n === 1);
    try {
      const run = await snapshot(proxy.endpoint);
      ok(run, 'snapshot through the once-stalling proxy');
      assert.ok(jsonEvents(run.stdout).some((e) => e.type === 'warning' && /retrying/.test(String(e.message))), 'the retry is reported');
      assert.equal((await readStoredManifest(s3Reader(), `${prefix}/${cloudId}`, tagOf(run))).nodeId, cloudId);
    } finally {
      await proxy.close();
    }
  });

  it('another cloud answering instead is refused as a node id change', async () => {
    const run = await runCli(['detect', '--dest', dest], { ...env(`http://127.0.0.1:${await closedLoopbackPort()}`),
      GCE_METADATA_HOST: requireEnv('CBR_GCE_METADATA_HOST') });
    assert.equal(run.exitCode, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`node id would change from "${cloudId}" to "[^"]+-4520031799277581759".*--cloud gcp to accept the new one`));
  });

  it('with metadata back it succeeds under the old id, and nothing was ever written under the off-cloud id', async () => {
    const run = await snapshot(requireEnv('CBR_IMDS_ENDPOINT'));
    ok(run, 'snapshot with metadata back');
    assert.equal((await readStoredManifest(s3Reader(), `${prefix}/${cloudId}`, tagOf(run))).nodeId, cloudId);
    assert.deepEqual(await nodeIdsUnder(prefix), new Set([cloudId]));
    const list = await runCli(['list', '--json', '--dest', dest], env(requireEnv('CBR_IMDS_ENDPOINT')));
    ok(list, 'list');
    assert.equal(lastDoc<{ backups: unknown[] }>(list).backups.length, 3, 'the first run, the one after a stall, this one');
    assert.ok(existsSync(join(stateDir, 'identity.json')));
  });
});
