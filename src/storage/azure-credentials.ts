// Which credential an Azure Blob client uses, from the environment: an account key or connection string where one
// is set (Azurite, or an operator's choice), else @azure/identity's DefaultAzureCredential (environment service
// principal, workload identity, the VM's managed identity, Azure CLI). The tool never takes a key on its command line.
import type { TokenCredential } from '@azure/core-auth';
import { StorageError } from '../errors.ts';

/** The variables read, in this order. */
export const AZURE_CONNECTION_STRING_ENV = 'AZURE_STORAGE_CONNECTION_STRING';
export const AZURE_ACCOUNT_KEY_ENV = 'AZURE_STORAGE_KEY';
/** The storage account when the destination comes from BUCKET_NAME on a detected Azure VM. */
export const AZURE_ACCOUNT_ENV = 'AZURE_STORAGE_ACCOUNT';

export type AzureCredentialChoice =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  | { readonly kind: 'account-key'; readonly accountKey: string }
  | { readonly kind: 'default-chain' };

export function azureCredentialFromEnv(env: NodeJS.ProcessEnv): AzureCredentialChoice {
  const connectionString = env[AZURE_CONNECTION_STRING_ENV]?.trim();
  if (connectionString) return { kind: 'connection-string', connectionString };
  const accountKey = env[AZURE_ACCOUNT_KEY_ENV]?.trim();
  if (accountKey) return { kind: 'account-key', accountKey };
  return { kind: 'default-chain' };
}

const AZURE_SOURCES = `${AZURE_CONNECTION_STRING_ENV} or ${AZURE_ACCOUNT_KEY_ENV}, then the default chain of ` +
  '@azure/identity: a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or ' +
  'AZURE_CLIENT_CERTIFICATE_PATH), workload identity (AZURE_FEDERATED_TOKEN_FILE), the managed identity of the VM ' +
  '(AZURE_CLIENT_ID picks a user-assigned one), the Azure CLI login';

/** The default chain, loaded only when used (start-up time, and the binary's bundle stays lazily split). */
export async function defaultAzureCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}

/** @azure/identity's "nothing in the chain could give a token" and "the token was refused" errors. */
export function isAzureCredentialFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; depth < 5 && e instanceof Error; depth++, e = e.cause) {
    if (['CredentialUnavailableError', 'AggregateAuthenticationError', 'AuthenticationError'].includes(e.name)) return true;
  }
  return false;
}

export function azureCredentialError(err: unknown): StorageError {
  const text = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  return new StorageError(`no usable Azure credentials: looked in ${AZURE_SOURCES}, and got none that worked (${text}); ` +
    'give the VM a managed identity with a Storage Blob Data role, or set one of those', { permanent: true, code: 'NoCredentials', cause: err });
}
