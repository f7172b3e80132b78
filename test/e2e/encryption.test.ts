// Client-side encryption (issue 16, part 3), on the real node and the real stores. The restore drill with
// `--encrypt-to` on S3 (versitygw, dedup layout) and GCS (fake-gcs-server, seed layout): snapshot, more rows
// and an incremental, verify (stored bytes, no identity) and verify --deep --identity (decrypted), a wrong or
// missing identity (exit 2, one line), TRUNCATE, restore --until now --identity, nodetool import, CQL counts.
// Every object is age ciphertext that does not contain a marker the table holds in plain text on disk; a tampered
// object fails verify --deep and restore (exit 4) and is not written. Reuse: an unencrypted backup never takes an
// encrypted object, nor one sealed to other recipients; one sealed to the same ones is reused. And a file of
// 70 MiB goes multipart encrypted, with its exact encrypted size, and restores bit-exact.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { dataDirsFromEnv, tableFiles } from '../support/fs-walk.ts';
import { baseEnv, jsonEvents, requireEnv, runCli, tempDir, type CliResult } from '../support/run-cli.ts';
import { countRows, createSampleSchema, dropKeyspace, insertRows, uniqueKeyspace, withClient, SAMPLE_TABLES } from '../support/cql.ts';
import { nodetool } from '../support/nodetool.ts';
import { s3CliEnv, s3Dest, uniquePrefix } from '../support/s3-env.ts';
import { gcsReader, s3Reader, type StoreReader } from '../support/stores.ts';
import { manifestKeyOf } from '../support/manifest.ts';

const N = 300;
const M = 200;
const MiB = 1024 * 1024;
const AGE_MAGIC = 'age-encryption.org/v1\n';

interface EncryptedManifest {
  readonly tag: string;
  readonly kind: string;
  readonly encryption?: { format: string; recipients: string[] };
  readonly files: { path: string; key: string; size: number; crc32c: string; etag?: string; reused?: boolean; stored?: { size: number; crc32c?: string } }[];
}

interface KeyFiles {
  readonly recipient: string;
  readonly identityFile: string;
  readonly recipientsFile: string;
}

async function keyFiles(name: string): Promise<KeyFiles> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const dir = tempDir(`keys-${name}`);
  const identityFile = join(dir, 'backup-key.txt');
  const recipientsFile = join(dir, 'recipients.txt');
  writeFileSync(identityFile, `# created for a test\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  writeFileSync(recipientsFile, `# the backup key\n${recipient}\n`);
  return { recipient, identityFile, recipientsFile };
}

function ok(run: CliResult, what: string): void {
  assert.equal(run.exitCode, 0, `${what} failed (${run.exitCode}):\n${run.stderr}\n${run.stdout}`);
}

function summaryOf(run: CliResult): Record<string, unknown> {
  const summary = jsonEvents(run.stdout).find((e) => e.type === 'summary');
  assert.ok(summary, `a summary in:\n${run.stdout}`);
  return summary;
}

/** The one error line of a failed run (the CLI prints `cass-backup-run: error: …`). */
function errorLine(run: CliResult): string {
  return run.stderr.trim().split('\n').filter((l) => /error/i.test(l)).join('\n');
}

function lastDocument<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
}

async function manifestOf(reader: StoreReader, prefix: string, nodeId: string, tag: string): Promise<EncryptedManifest> {
  return JSON.parse((await reader.get(`${prefix}/${manifestKeyOf(nodeId, tag)}`)).toString()) as EncryptedManifest;
}

function gcsEnv(): NodeJS.ProcessEnv {
  return baseEnv({
    CASS_BACKUP_GCS_ENDPOINT: requireEnv('CBR_GCS_ENDPOINT'), CASS_BACKUP_CLOUD: 'none',
    CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'), CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'),
    CASS_BACKUP_STATE_DIR: tempDir('state'),
  });
}

interface DrillCase {
  readonly store: 's3' | 'gcs';
  readonly layout: 'seed' | 'dedup';
}

async function encryptedDrill(c: DrillCase): Promise<void> {
  const keyspace = uniqueKeyspace(`cbr_crypt_${c.store}`);
  const prefix = uniquePrefix(`crypt-${c.store}`);
  const dest = c.store === 's3' ? s3Dest(prefix) : `gs://${requireEnv('CBR_GCS_BUCKET')}/${prefix}`;
  const env = c.store === 's3' ? s3CliEnv() : gcsEnv();
  const reader = c.store === 's3' ? s3Reader() : gcsReader();
  const nodeId = `crypt-${c.layout}`;
  const common = ['--dest', dest, '--node-id', nodeId, '--layout', c.layout];
  const key = await keyFiles(`right-${c.store}`);
  const wrong = await keyFiles(`wrong-${c.store}`);
  const marker = `CBR-PLAINTEXT-MARKER-${randomBytes(8).toString('hex')}`;
  try {
    await withClient(async (client) => {
      await createSampleSchema(client, keyspace);
      // Uncompressed, so that the marker is in its SSTable in plain text and its absence from the objects means something.
      await client.execute(`CREATE TABLE ${keyspace}.secrets (id int PRIMARY KEY, note text) WITH compression = {'enabled': 'false'}`);
      for (const table of SAMPLE_TABLES) await insertRows(client, keyspace, table, 0, N);
      await client.execute(`INSERT INTO ${keyspace}.secrets (id, note) VALUES (1, '${marker}')`);
    });

    const snap = await runCli(['snapshot', keyspace, ...common, '--encrypt-to-file', key.recipientsFile, '--json'], env);
    ok(snap, 'encrypted snapshot');
    const tag = String(summaryOf(snap).tag);
    const local = [...tableFiles(dataDirsFromEnv(), (t) => t)].filter(([rel]) => rel.startsWith(`${keyspace}/secrets-`) && rel.endsWith('-Data.db'));
    assert.ok(local.some(([, abs]) => readFileSync(abs).includes(marker)), 'the marker is in plain text in the SSTable on disk');

    const manifest = await manifestOf(reader, prefix, nodeId, tag);
    assert.equal(manifest.encryption?.format, 'age-encryption.org/v1');
    assert.equal(manifest.encryption?.recipients.length, 1);
    assert.ok(manifest.files.some((f) => f.path.includes('/secrets-')), 'the marker table is in the backup');
    for (const f of manifest.files) {
      assert.match(f.key, /\.[0-9a-f]{8}\.age$/, `${f.key} is in the encrypted key namespace`);
      const bytes = await reader.get(`${prefix}/${f.key}`);
      assert.equal(bytes.subarray(0, AGE_MAGIC.length).toString(), AGE_MAGIC, `${f.key} is age ciphertext`);
      assert.equal(bytes.includes(marker), false, `${f.key} does not hold the marker in plain text`);
      assert.equal(bytes.length, f.stored?.size, `${f.key}: stored size recorded`);
      assert.equal(f.stored!.size, 184 + f.size + 16 * Math.max(1, Math.ceil(f.size / 65536)), `${f.key}: exact age size for one recipient`);
    }

    await withClient(async (client) => { for (const table of SAMPLE_TABLES) await insertRows(client, keyspace, table, N, M); });
    nodetool('flush', keyspace);
    const incremental = await runCli(['incremental', ...common, '--encrypt-to', key.recipient, '--json'], env);
    ok(incremental, 'encrypted incremental');
    const incrementalTag = String(summaryOf(incremental).tag);
    ok(await runCli(['verify', incrementalTag, ...common], env), 'verify of the incremental backup without identity (stored bytes)');
    const deep = await runCli(['verify', tag, '--deep', '--identity', key.identityFile, ...common], env);
    ok(deep, 'verify --deep --identity');
    assert.match(deep.stdout, new RegExp(`verify ${tag}: OK`));
    assert.match(deep.stderr, /decrypting, and checking the plaintext CRC32C/);

    // Before the restore replaces the SSTables with imported ones (new inodes): what later backups reuse.
    if (c.layout === 'dedup') await reuseAcrossEncryption(c, { env, common, keyspace, reader, prefix, nodeId, key, wrong });

    const wrongVerify = await runCli(['verify', tag, '--deep', '--identity', wrong.identityFile, ...common], env);
    assert.equal(wrongVerify.exitCode, 2, wrongVerify.stderr);
    assert.match(errorLine(wrongVerify), new RegExp(`wrong identity: no key in ${wrong.identityFile} is a recipient of backup ${tag}`));

    const dir = join(tempDir('crypt-restore'), 'restore');
    const restoreArgs = ['restore', tag, '--to', dir, '--until', 'now', '--table', keyspace, ...common];
    const wrongRestore = await runCli([...restoreArgs, '--identity', wrong.identityFile], env);
    assert.equal(wrongRestore.exitCode, 2, wrongRestore.stderr);
    assert.match(errorLine(wrongRestore), /wrong identity/);
    assert.equal(existsSync(dir), false, 'nothing was written with a wrong identity');
    const noIdentity = await runCli(restoreArgs, env);
    assert.equal(noIdentity.exitCode, 2, noIdentity.stderr);
    assert.match(errorLine(noIdentity), /is encrypted \(age\): restore needs --identity FILE/);

    await withClient(async (client) => {
      for (const table of [...SAMPLE_TABLES, 'secrets']) await client.execute(`TRUNCATE ${keyspace}.${table}`);
    });
    const restore = await runCli([...restoreArgs, '--identity', key.identityFile, '--json'], env);
    ok(restore, 'restore --identity');
    const result = lastDocument<{ ok: boolean; incrementalFiles: number; tables: { table: string; import: string }[] }>(restore.stdout);
    assert.equal(result.ok, true);
    assert.ok(result.incrementalFiles > 0, 'the flushed SSTables came from the encrypted incremental backup');
    assert.deepEqual(result.tables.map((t) => t.table).sort(), ['events', 'secrets', 'users']);
    for (const t of result.tables) {
      const [cmd, ...args] = t.import.split(' ');
      assert.equal(cmd, 'nodetool');
      nodetool(...args);
    }
    await withClient(async (client) => {
      for (const table of SAMPLE_TABLES) assert.equal(await countRows(client, keyspace, table), N + M, `${table} rows after restore`);
      const row = await client.execute(`SELECT note FROM ${keyspace}.secrets WHERE id = 1`);
      assert.equal(row.first()?.get('note'), marker, 'the marker row is back');
    });

    // A tampered object (same size, one payload byte flipped): verify --deep and restore fail it, nothing written as good.
    const victim = manifest.files.find((f) => f.path.includes('/users-') && f.path.endsWith('-Data.db'))!;
    const bytes = await reader.get(`${prefix}/${victim.key}`);
    bytes[bytes.length - 20]! ^= 0x01;
    await reader.put(`${prefix}/${victim.key}`, bytes);
    const tamperedVerify = await runCli(['verify', tag, '--deep', '--identity', key.identityFile, ...common], env);
    assert.equal(tamperedVerify.exitCode, 4, tamperedVerify.stderr);
    assert.ok(tamperedVerify.stdout.includes(`MISMATCH ${victim.key}`), tamperedVerify.stdout);
    const again = join(tempDir('crypt-tampered'), 'restore');
    const tamperedRestore = await runCli(['restore', tag, '--to', again, '--table', keyspace, ...common, '--identity', key.identityFile], env);
    assert.equal(tamperedRestore.exitCode, 4, tamperedRestore.stderr);
    const target = victim.path.replace(/\/snapshots\/[^/]+\//, '/');
    assert.equal(existsSync(join(again, target)), false, `${target} was not written`);
    const written = readdirSync(again, { recursive: true }).map(String);
    assert.ok(written.some((p) => p.endsWith('-Data.db')), 'the other files were restored');
  } finally {
    await withClient((client) => dropKeyspace(client, keyspace));
    await reader.deletePrefix(`${prefix}/`);
  }
}

/** Dedup layout: which stored objects later backups reuse, by their encryption. */
async function reuseAcrossEncryption(c: DrillCase, o: {
  env: NodeJS.ProcessEnv; common: string[]; keyspace: string; reader: StoreReader; prefix: string; nodeId: string; key: KeyFiles; wrong: KeyFiles;
}): Promise<void> {
  const sameKey = await runCli(['snapshot', o.keyspace, ...o.common, '--encrypt-to', o.key.recipient, '--json'], o.env);
  ok(sameKey, 'second snapshot to the same recipient');
  const same = await manifestOf(o.reader, o.prefix, o.nodeId, String(summaryOf(sameKey).tag));
  assert.ok(same.files.filter((f) => f.path.endsWith('-Data.db')).every((f) => f.reused === true), 'same recipient: the SSTables are reused');

  const plain = await runCli(['snapshot', o.keyspace, ...o.common, '--json'], o.env);
  ok(plain, 'unencrypted snapshot');
  const unencrypted = await manifestOf(o.reader, o.prefix, o.nodeId, String(summaryOf(plain).tag));
  assert.equal(unencrypted.encryption, undefined);
  for (const f of unencrypted.files) {
    assert.equal(f.reused, undefined, `${f.key}: an unencrypted backup reuses no encrypted object`);
    assert.doesNotMatch(f.key, /\.age$/);
    assert.notEqual((await o.reader.get(`${o.prefix}/${f.key}`)).subarray(0, AGE_MAGIC.length).toString(), AGE_MAGIC);
  }

  const otherKey = await runCli(['snapshot', o.keyspace, ...o.common, '--encrypt-to', o.wrong.recipient, '--json'], o.env);
  ok(otherKey, 'snapshot to another recipient');
  const other = await manifestOf(o.reader, o.prefix, o.nodeId, String(summaryOf(otherKey).tag));
  for (const f of other.files) assert.equal(f.reused, undefined, `${f.key}: no object sealed to other recipients is reused`);
  const keys = new Set(same.files.map((f) => f.key));
  assert.ok(other.files.every((f) => !keys.has(f.key)), 'other recipients, other keys');
  ok(await runCli(['verify', String(summaryOf(otherKey).tag), '--deep', '--identity', o.wrong.identityFile, ...o.common], o.env),
    'verify --deep of the backup to the other recipient with its identity');
  assert.equal(c.layout, 'dedup');
}

describe('client-side encryption: the restore drill', () => {
  it('S3 (versitygw), dedup layout: encrypted snapshot + incremental → verify → wrong identity → restore → import → all rows back',
    () => encryptedDrill({ store: 's3', layout: 'dedup' }));
  it('GCS (fake-gcs-server), seed layout: the same drill', () => encryptedDrill({ store: 'gcs', layout: 'seed' }));
});

describe('client-side encryption: a large file', () => {
  const tag = 'crypt-large';
  const dataDir = tempDir('data-crypt-large');
  const tableDir = join(dataDir, 'ks_crypt', 'blobs-0123456789abcdef0123456789abcdef', 'snapshots', tag);
  const files: { name: string; size: number; sha256?: string }[] = [
    { name: 'nb-1-big-Data.db', size: 70 * MiB + 4321 },
    { name: 'nb-1-big-Index.db', size: 65536 },
    { name: 'nb-1-big-TOC.txt', size: 0 },
  ];

  before(async () => {
    mkdirSync(tableDir, { recursive: true });
    for (const f of files) {
      const hash = createHash('sha256');
      const out = createWriteStream(join(tableDir, f.name));
      for (let left = f.size; left > 0; left -= MiB) {
        const chunk = randomBytes(Math.min(MiB, left));
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      f.sha256 = hash.digest('hex');
    }
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const stores = [
    { name: 's3', what: 'multipart to S3', reader: s3Reader, dest: s3Dest,
      env: () => s3CliEnv({ CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'), CASS_BACKUP_STATE_DIR: tempDir('state') }) },
    { name: 'gcs', what: 'resumable to GCS', reader: gcsReader, dest: (p: string) => `gs://${requireEnv('CBR_GCS_BUCKET')}/${p}`, env: gcsEnv },
  ] as const;
  for (const store of stores) it(`goes ${store.what} with its exact encrypted size and restores bit-exact`, async () => {
    const prefix = uniquePrefix(`crypt-large-${store.name}`);
    const env = store.env();
    const key = await keyFiles(`large-${store.name}`);
    const reader = store.reader();
    const common = ['--dest', store.dest(prefix), '--node-id', 'node-crypt-large'];
    try {
      const run = await runCli(['snapshot', '--resume', tag, '--keep-snapshot', '--data-dir', dataDir, ...common,
        '--multipart-threshold', '8MiB', '--encrypt-to', key.recipient], env);
      ok(run, 'encrypted upload');
      const manifest = await manifestOf(reader, prefix, 'node-crypt-large', tag);
      const big = manifest.files.find((f) => f.path.endsWith('nb-1-big-Data.db'))!;
      if (store.name === 's3') assert.match(String(big.etag), /-\d+$/, 'the large file went multipart');
      assert.equal(big.stored?.size, 184 + big.size + 16 * Math.ceil(big.size / 65536));
      assert.equal((await reader.list(`${prefix}/${big.key}`)).get(`${prefix}/${big.key}`), big.stored?.size, 'the store holds exactly that many bytes');
      const dir = join(tempDir('crypt-large-restore'), 'restore');
      ok(await runCli(['restore', tag, '--to', dir, ...common, '--identity', key.identityFile], env), 'restore');
      for (const f of files) {
        const restored = join(dir, 'ks_crypt', 'blobs-0123456789abcdef0123456789abcdef', f.name);
        const hash = createHash('sha256');
        for await (const chunk of createReadStream(restored)) hash.update(chunk as Buffer);
        assert.equal(hash.digest('hex'), f.sha256, `${f.name} restored bit-exact`);
      }
    } finally {
      await reader.deletePrefix(`${prefix}/`);
    }
  });
});
