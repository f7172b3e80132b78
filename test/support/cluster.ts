// The three-node loopback cluster of `scripts/testenv.sh cluster-up`, for the cluster tests: each node as a host of
// its own (its nodetool, cassandra.yaml, data directory and state directory), CQL at replication factor 3, and
// stopping and starting one node.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import cassandra from 'cassandra-driver';
import type { Client } from 'cassandra-driver';
import { repoRoot, requireEnv, tempDir } from './run-cli.ts';
import { s3CliEnv } from './s3-env.ts';

export const NODES = [1, 2, 3] as const;
export type NodeNumber = (typeof NODES)[number];

/** The CLI's environment on node i: its nodetool and yaml, its own state directory. */
export function nodeEnv(i: NodeNumber, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return s3CliEnv({
    CASS_BACKUP_NODETOOL: requireEnv(`CBR_CLUSTER_NODETOOL_${i}`), CASS_BACKUP_CASSANDRA_YAML: requireEnv(`CBR_CLUSTER_YAML_${i}`),
    CASS_BACKUP_STATE_DIR: tempDir(`cluster-state-${i}`), CASS_BACKUP_NODE_ID: `cnode${i}`, ...extra,
  });
}

export function nodetoolOn(i: NodeNumber, ...args: string[]): string {
  return execFileSync(requireEnv(`CBR_CLUSTER_NODETOOL_${i}`), args, { encoding: 'utf8', timeout: 300_000 });
}

export async function withClusterClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new cassandra.Client({
    contactPoints: requireEnv('CBR_CLUSTER_HOSTS').split(','), localDataCenter: 'dc1',
    protocolOptions: { port: Number(requireEnv('CBR_CLUSTER_CQL_PORT')) }, socketOptions: { readTimeout: 60_000 },
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.shutdown();
  }
}

/** Stops or starts one node (`scripts/testenv.sh cluster-node`); start waits until all three are up again. */
export function clusterNode(action: 'stop' | 'start', i: NodeNumber): void {
  execFileSync(`${repoRoot}/scripts/testenv.sh`, ['cluster-node', action, String(i)], { stdio: 'inherit', timeout: 300_000 });
}

/** Every node stopped and emptied (data, commit log, caches, hints): the cluster is lost, its configuration kept. */
export function clusterWipe(): void {
  execFileSync(`${repoRoot}/scripts/testenv.sh`, ['cluster-wipe'], { stdio: 'inherit', timeout: 300_000 });
}

/** Starts the given nodes as configured now; waits until they see each other (and only each other) Up/Normal. */
export function clusterStart(...nodes: NodeNumber[]): void {
  execFileSync(`${repoRoot}/scripts/testenv.sh`, ['cluster-start', ...nodes.map(String)], { stdio: 'inherit', timeout: 400_000 });
}

/** Stops every node and removes the cluster's directory: the next `cluster-up` starts a fresh one. */
export function clusterDownWiped(): void {
  execFileSync(`${repoRoot}/scripts/testenv.sh`, ['cluster-down', '--wipe'], { stdio: 'inherit', timeout: 300_000 });
}

/** Sets num_tokens and initial_token in node i's cassandra.yaml, as an operator does before a node's first start. */
export function setTokens(i: NodeNumber, numTokens: number, initialToken: string): void {
  const yaml = requireEnv(`CBR_CLUSTER_YAML_${i}`);
  const lines = readFileSync(yaml, 'utf8').split('\n').filter((l) => !/^(num_tokens|initial_token|auto_bootstrap):/.test(l));
  writeFileSync(yaml, [...lines, `num_tokens: ${numTokens}`, `initial_token: ${initialToken}`, 'auto_bootstrap: false', ''].join('\n'));
}
