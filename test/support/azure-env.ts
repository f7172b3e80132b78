// The loopback Azurite for tests: its development account from the test environment (env.sh), the test container
// created on first use, a CLI environment that points a run at it, and clean-up of a test's prefix.
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import type { AzureBackendConfig } from '../../src/storage/azure.ts';
import { baseEnv, requireEnv, tempDir } from './run-cli.ts';

export const azureEndpoint = (): string => requireEnv('CBR_AZURE_ENDPOINT');
export const azureAccount = (): string => requireEnv('CBR_AZURE_ACCOUNT');
export const azureContainer = (): string => requireEnv('CBR_AZURE_CONTAINER');
export const azureKey = (): string => requireEnv('CBR_AZURE_KEY');

export function azureConfig(prefix: string, more: Partial<AzureBackendConfig> = {}): AzureBackendConfig {
  return {
    account: azureAccount(), container: azureContainer(), prefix, endpoint: azureEndpoint(),
    credential: { kind: 'account-key', accountKey: azureKey() }, ...more,
  };
}

/** The test container through the SDK itself (not our adapter), created when missing. */
export async function testContainer(name = azureContainer()): Promise<ContainerClient> {
  const service = new BlobServiceClient(azureEndpoint(), new StorageSharedKeyCredential(azureAccount(), azureKey()));
  const container = service.getContainerClient(name);
  await container.createIfNotExists();
  return container;
}

export async function deleteAzurePrefix(prefix: string): Promise<void> {
  const container = await testContainer();
  for await (const item of container.listBlobsFlat({ prefix })) await container.deleteBlob(item.name).catch(() => {});
}

export function azureDest(prefix: string): string {
  return `az://${azureAccount()}/${azureContainer()}/${prefix}`;
}

export function azureCliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return baseEnv({
    AZURE_STORAGE_KEY: azureKey(),
    CASS_BACKUP_AZURE_ENDPOINT: azureEndpoint(),
    CASS_BACKUP_CLOUD: 'none',
    CASS_BACKUP_NODETOOL: requireEnv('CBR_NODETOOL'),
    CASS_BACKUP_CASSANDRA_YAML: requireEnv('CBR_CASSANDRA_YAML'),
    CASS_BACKUP_STATE_DIR: tempDir('state'),
    ...extra,
  });
}
