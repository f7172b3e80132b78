// Writes the demo's sample data into the loopback Cassandra (keyspace `demo`).
import { connect, createSampleSchema, insertRows } from '../test/support/cql.ts';

const client = await connect();
try {
  await createSampleSchema(client, 'demo');
  await insertRows(client, 'demo', 'users', 0, 500);
  await insertRows(client, 'demo', 'events', 0, 500);
  console.log('   wrote 500 rows into demo.users and demo.events');
} finally {
  await client.shutdown();
}
