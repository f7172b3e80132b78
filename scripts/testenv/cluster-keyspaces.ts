// The cluster environment's keyspaces (scripts/testenv/cluster.sh): one at replication factor 3 and one at 2, both
// NetworkTopologyStrategy in dc1, each with a table of a few rows written at consistency ALL. Idempotent.
import cassandra from 'cassandra-driver';

const [hosts = '127.0.0.1,127.0.0.2,127.0.0.3', port = '9142'] = process.argv.slice(2);
const client = new cassandra.Client({ contactPoints: hosts.split(','), localDataCenter: 'dc1', protocolOptions: { port: Number(port) } });
await client.connect();
try {
  for (const [keyspace, rf] of [['cbr_rf3', 3], ['cbr_rf2', 2]] as const) {
    await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': ${rf}}`);
    await client.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.users (id int PRIMARY KEY, name text)`);
    for (let id = 0; id < 100; id++) {
      await client.execute(`INSERT INTO ${keyspace}.users (id, name) VALUES (?, ?)`, [id, `user-${id}`],
        { prepare: true, consistency: cassandra.types.consistencies.all });
    }
  }
} finally {
  await client.shutdown();
}
