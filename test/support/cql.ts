import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
// CQL helpers for end-to-end tests against the loopback Cassandra started by scripts/testenv.sh.
// Tests create their own keyspace with a unique name so runs never see each other's data.
import cassandra from 'cassandra-driver';
import type { Client } from 'cassandra-driver';
import { before, after } from 'node:test';

/** The two tables createSampleSchema makes; `events` carries a secondary index (`events_kind_idx`). */
export const SAMPLE_TABLES = ['users', 'events'] as const;
export type SampleTable = (typeof SAMPLE_TABLES)[number];
export const SAMPLE_INDEX = 'events_kind_idx';

/** Fails with the setup instructions when the test environment has not been sourced. */
export function requireTestEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: run \`scripts/testenv.sh up\` and \`source .testenv/env.sh\` before the e2e tests`,
    );
  }
  return value;
}

export async function connect(): Promise<Client> {
  const host = requireTestEnv('CBR_CQL_HOST');
  const port = Number(requireTestEnv('CBR_CQL_PORT'));
  const client = new cassandra.Client({
    contactPoints: [host],
    localDataCenter: 'datacenter1',
    protocolOptions: { port },
    socketOptions: { readTimeout: 60_000 },
  });
  await client.connect();
  return client;
}

/** A keyspace name unique to this run (CQL identifiers: letters, digits, underscore, max 48). */
export function uniqueKeyspace(prefix = 'cbr'): string {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return `${prefix}_${suffix}`.toLowerCase();
}

export async function createSampleSchema(client: Client, keyspace: string): Promise<void> {
  await client.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
  );
  await client.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.users (id int PRIMARY KEY, name text, payload blob)`);
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${keyspace}.events (id int PRIMARY KEY, kind text, payload blob)`,
  );
  await client.execute(`CREATE INDEX IF NOT EXISTS ${SAMPLE_INDEX} ON ${keyspace}.events (kind)`);
}

/** Inserts rows `from .. from+count-1`; the same id always gets the same content, so re-inserting is idempotent. */
export async function insertRows(
  client: Client,
  keyspace: string,
  table: SampleTable,
  from: number,
  count: number,
): Promise<void> {
  const column = table === 'users' ? 'name' : 'kind';
  const query = `INSERT INTO ${keyspace}.${table} (id, ${column}, payload) VALUES (?, ?, ?)`;
  const batchSize = 50;
  for (let start = from; start < from + count; start += batchSize) {
    const end = Math.min(start + batchSize, from + count);
    const writes: Promise<unknown>[] = [];
    for (let id = start; id < end; id += 1) {
      writes.push(client.execute(query, [id, `${column}-${id % 7}`, Buffer.alloc(256, id % 251)], { prepare: true }));
    }
    await Promise.all(writes);
  }
}

export async function countRows(client: Client, keyspace: string, table: SampleTable): Promise<number> {
  const result = await client.execute(`SELECT COUNT(*) AS n FROM ${keyspace}.${table}`);
  const n: unknown = result.first()?.get('n');
  return Number(String(n)); // COUNT is a bigint column, decoded as a Long object
}

/** Drops the keyspace and removes what Cassandra leaves on disk for it (backups/ hard links are never removed). */
export async function dropKeyspace(client: Client, keyspace: string): Promise<void> {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  for (const dir of (process.env.CBR_DATA_DIRS ?? '').split(':').filter(Boolean)) {
    rmSync(join(dir, keyspace), { recursive: true, force: true });
  }
}

/** Runs fn with a connected client, and always shuts the client down. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect();
  try {
    return await fn(client);
  } finally {
    await client.shutdown();
  }
}

/**
 * Inserts rows [from, from + count) into one sample table with `bytes` random (incompressible) bytes each: SSTables
 * that take real time to upload under --max-rate.
 */
export async function insertRandomRows(keyspace: string, table: SampleTable, from: number, count: number, bytes = 1024): Promise<void> {
  await withClient(async (client) => {
    const column = table === 'users' ? 'name' : 'kind';
    const query = `INSERT INTO ${keyspace}.${table} (id, ${column}, payload) VALUES (?, ?, ?)`;
    for (let start = from; start < from + count; start += 50) {
      const writes: Promise<unknown>[] = [];
      for (let id = start; id < Math.min(start + 50, from + count); id++) {
        writes.push(client.execute(query, [id, `${column}-${id % 7}`, randomBytes(bytes)], { prepare: true }));
      }
      await Promise.all(writes);
    }
  });
}

/** Inserts rows [from, from + count) into both sample tables. */
export async function insertSampleRows(keyspace: string, from: number, count: number): Promise<void> {
  await withClient(async (client) => {
    await insertRows(client, keyspace, 'users', from, count);
    await insertRows(client, keyspace, 'events', from, count);
  });
}

/**
 * For a test file: registers hooks that create a fresh keyspace with the sample schema and `rows` rows in each
 * table (then `then`) before its tests, and drop it (with what Cassandra leaves on disk) after them. Returns the name.
 */
export function sampleKeyspaceForFile(prefix: string, rows: number, then?: (keyspace: string) => Promise<void>): string {
  const keyspace = uniqueKeyspace(prefix);
  // One hook, so that `then` surely runs after the schema exists.
  before(async () => {
    await withClient((client) => createSampleSchema(client, keyspace));
    if (rows > 0) await insertSampleRows(keyspace, 0, rows);
    await then?.(keyspace);
  });
  after(() => withClient((client) => dropKeyspace(client, keyspace)));
  return keyspace;
}
