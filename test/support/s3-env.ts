// CLI environment for runs that target the loopback S3 server with static credentials (from the SDK's env chain).
import { randomBytes } from 'node:crypto';
import { baseEnv, requireEnv, tempDir } from './run-cli.ts';

export function uniquePrefix(name: string): string {
  return `${name}-${Date.now()}-${randomBytes(3).toString('hex')}`;
}

export function s3CliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    AWS_ACCESS_KEY_ID: requireEnv('CBR_S3_ACCESS_KEY'),
    AWS_SECRET_ACCESS_KEY: requireEnv('CBR_S3_SECRET_KEY'),
    CASS_BACKUP_S3_ENDPOINT: requireEnv('CBR_S3_ENDPOINT'),
    CASS_BACKUP_CLOUD: 'none',
    CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'),
    CASS_BACKUP_STATE_DIR: tempDir('state'),
    ...extra,
  });
}

export function s3Dest(prefix: string): string {
  return `s3://${requireEnv('CBR_S3_BUCKET')}/${prefix}`;
}
