// S3 failures as StorageErrors: one line per cause naming the bucket or key, and whether a retry can help.
import { SourceReadError, StorageError } from '../errors.ts';
import { alreadyExistsError } from './already-exists.ts';
import { isMissingAwsCredentials, missingAwsCredentialsMessage } from './credential-sources.ts';
import { unresolvedHost, unresolvedHostMessage } from './network-errors.ts';

export const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken',
  'InvalidBucketName', 'PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException',
  'NoSuchKey', 'NotFound', 'Forbidden', 'AllAccessDisabled', 'AccountProblem', 'NoSuchUpload',
]);

export function errorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (err.name !== 'Error' && err.name !== '') return err.name;
  }
  return 'Unknown';
}

export function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

function where(bucket: string, key: string | undefined): string {
  return key === undefined ? `bucket "${bucket}"` : `s3://${bucket}/${key}`;
}

// One line per cause, naming the bucket or key; auth failures deliberately omit the server's text.
function describe(code: string, op: string, bucket: string, key: string | undefined, err: unknown): string {
  const at = where(bucket, key);
  const status = httpStatus(err);
  // A HEAD error has no body, so the SDK knows only the status.
  if ((code === 'Unknown' || code === 'UnknownError') && status !== undefined) {
    if (status === 403) return `S3 denied ${op} on ${at} (HTTP 403: wrong credentials or no permission)`;
    if (status === 404) return `S3 object ${at} does not exist (HTTP 404)`;
    return `S3 ${op} on ${at} failed with HTTP ${status}`;
  }
  switch (code) {
    case 'NoSuchBucket': return `S3 bucket "${bucket}" does not exist (NoSuchBucket)`;
    case 'NoSuchKey': case 'NotFound': return `S3 object ${at} does not exist (${code})`;
    case 'InvalidBucketName': return `S3 bucket name "${bucket}" is invalid (InvalidBucketName)`;
    case 'AccessDenied': case 'Forbidden': return `S3 denied ${op} on ${at} (${code})`;
    case 'InvalidAccessKeyId': return `S3 does not know the access key used for ${at} (InvalidAccessKeyId)`;
    case 'SignatureDoesNotMatch': return `S3 rejected the request signature for ${at}: wrong secret key? (SignatureDoesNotMatch)`;
    case 'ExpiredToken': case 'InvalidToken': return `S3 credentials used for ${at} are expired or invalid (${code})`;
    case 'PermanentRedirect': case 'AuthorizationHeaderMalformed': case 'IllegalLocationConstraintException':
      return `S3 bucket "${bucket}" is not in the configured region (${code})`;
    default: {
      const text = err instanceof Error ? err.message.split('\n')[0] : String(err);
      return `S3 ${op} on ${at} failed: ${text} (${code})`;
    }
  }
}

/**
 * The StorageError for an SDK (or direct-request) failure, or the abort reason when the caller aborted; a source
 * file's read failure is passed on as it is (the file failed, not the store).
 * Only create-only puts send a condition, so a 412 is their refusal: the key already holds an object.
 * A 409 ConditionalRequestConflict (a concurrent conditional write was in progress) stays transient.
 */
export function s3Error(err: unknown, op: string, bucket: string, key?: string, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof StorageError || err instanceof SourceReadError) return err;
  const setup = configurationFailure(err);
  if (setup !== undefined) return new StorageError(setup.message, { permanent: true, code: setup.code, cause: err });
  const code = errorCode(err);
  const status = httpStatus(err);
  if (code === 'PreconditionFailed' || status === 412) return alreadyExistsError(`S3 object ${where(bucket, key)}`, code, err);
  const permanent = PERMANENT_CODES.has(code) || status === 301 || status === 401 || status === 403 || status === 404;
  return new StorageError(describe(code, op, bucket, key, err), { permanent, code, cause: err });
}

/** Failures before any request reaches S3 that only the operator can fix: credentials, the endpoint's host. */
function configurationFailure(err: unknown): { message: string; code: string } | undefined {
  if (isMissingAwsCredentials(err)) return { message: missingAwsCredentialsMessage(err), code: 'NoCredentials' };
  const host = unresolvedHost(err);
  if (host !== undefined) {
    return { message: unresolvedHostMessage('S3', host, 'the region (REGION, AWS_REGION or --region) and --s3-endpoint'), code: 'ENOTFOUND' };
  }
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NotFound' || code === 'NoSuchKey' || httpStatus(err) === 404;
}

export function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}
