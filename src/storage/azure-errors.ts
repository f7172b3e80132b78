// Azure Blob failures as StorageErrors: one line naming the container or blob, and whether a retry can help.
import { SourceReadError, StorageError } from '../errors.ts';
import { alreadyExistsError } from './already-exists.ts';
import { azureCredentialError, isAzureCredentialFailure } from './azure-credentials.ts';
import { unresolvedHost, unresolvedHostMessage } from './network-errors.ts';

export interface AzureErrorContext {
  readonly account: string;
  readonly container: string;
}

/** HTTP status of a RestError (the SDK's), when it has one. */
export function azureStatusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The service's error code (x-ms-error-code: BlobNotFound, ContainerNotFound, …), else the Node errno. */
export function azureCodeOf(err: unknown): string {
  const e = err as { code?: unknown; details?: { errorCode?: unknown } } | null;
  if (typeof e?.details?.errorCode === 'string') return e.details.errorCode;
  if (typeof e?.code === 'string') return e.code;
  const status = azureStatusOf(err);
  return status === undefined ? 'Unknown' : String(status);
}

/** A 404 of a put or a listing can only be the container's; of a read it may be the blob's. */
export type AzureMissing = 'container' | 'blob';

const PERMANENT_CODES = new Set(['AuthenticationFailed', 'AuthorizationFailure', 'AuthorizationPermissionMismatch',
  'InvalidAuthenticationInfo', 'AccountIsDisabled', 'InvalidResourceName', 'ContainerNotFound', 'BlobNotFound',
  'ContainerBeingDeleted', 'BlobArchived', 'InvalidBlobTier', 'EncryptionScopeNotFound', 'EncryptionScopeDisabled']);

export function azureError(ctx: AzureErrorContext, err: unknown, op: string, name?: string, missing: AzureMissing = 'blob',
  signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof StorageError || err instanceof SourceReadError) return err;
  if (isAzureCredentialFailure(err)) return azureCredentialError(err);
  const host = unresolvedHost(err);
  if (host !== undefined) {
    return new StorageError(unresolvedHostMessage('Azure Blob', host, 'the account name and --azure-endpoint'),
      { permanent: true, code: 'ENOTFOUND', cause: err });
  }
  const status = azureStatusOf(err);
  const code = azureCodeOf(err);
  if (err instanceof Error && /not permitted for non-TLS/i.test(err.message)) {
    return new StorageError('Azure: the default credential chain (tokens) needs an https endpoint; with an http --azure-endpoint ' +
      '(an emulator) set AZURE_STORAGE_KEY or AZURE_STORAGE_CONNECTION_STRING', { permanent: true, code: 'NoCredentials', cause: err });
  }
  const at = name === undefined ? `container "${ctx.container}"` : `az://${ctx.account}/${ctx.container}/${name}`;
  // Only create-only writes carry If-None-Match: *; Azure answers 409 BlobAlreadyExists (or 412 ConditionNotMet).
  if (code === 'BlobAlreadyExists' || (status === 412 && code === 'ConditionNotMet')) {
    return alreadyExistsError(`Azure blob ${at}`, code, err);
  }
  const text = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  // A 404 without a code of its own (a HEAD has no body) is the container's where only the container can be missing.
  if (code === 'ContainerNotFound' || (status === 404 && missing === 'container' && /^(404|ResourceNotFound|Unknown)$/.test(code))) {
    return new StorageError(`Azure container "${ctx.container}" does not exist in account "${ctx.account}" (NoSuchBucket)`,
      { permanent: true, code: 'NoSuchBucket', cause: err });
  }
  if (status === 404 && (code === 'BlobNotFound' || /^(404|ResourceNotFound|Unknown)$/.test(code))) {
    return new StorageError(`Azure blob ${at} does not exist (${code})`, { permanent: true, code, cause: err });
  }
  if (status === 401 || status === 403) {
    return new StorageError(`Azure denied ${op} on ${at}: ${text} (${code})`, { permanent: true, code, cause: err });
  }
  // Throttling (503 ServerBusy, 500 OperationTimedOut/InternalError), resets and timeouts are worth another attempt.
  const permanent = PERMANENT_CODES.has(code) || status === 404 || (status === 400 && code !== 'Md5Mismatch' && code !== 'Crc64Mismatch');
  return new StorageError(`Azure ${op} on ${at} failed: ${text} (${code})`, { permanent, code, cause: err });
}
