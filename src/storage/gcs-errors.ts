// GCS failures as StorageErrors: one line per cause naming the bucket or object, and whether a retry can help.
import { SourceReadError, StorageError } from '../errors.ts';
import { alreadyExistsError } from './already-exists.ts';
import { isMissingGoogleCredentials, missingGoogleCredentialsMessage } from './credential-sources.ts';
import { unresolvedHost, unresolvedHostMessage } from './network-errors.ts';

export interface GcsErrorContext {
  readonly bucketName: string;
}

export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown; status?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function codeOf(err: unknown, status: number | undefined): string {
  const reason = (err as { errors?: Array<{ reason?: unknown }> } | null)?.errors?.[0]?.reason;
  if (typeof reason === 'string') return reason;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code; // Node errno, or the library's FILE_NO_UPLOAD
  return status === undefined ? 'Unknown' : String(status);
}

/** What a 404 means depends on the call: a put or a list can only be missing its bucket. */
export type Missing = 'bucket' | 'object';

function describe(ctx: GcsErrorContext, op: string, key: string | undefined, code: string, status: number | undefined,
  missing: Missing, err: unknown): string {
  const at = key === undefined ? `bucket "${ctx.bucketName}"` : `gs://${ctx.bucketName}/${key}`;
  const text = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  if (status === 404 && (missing === 'bucket' || /bucket/i.test(text))) {
    return `GCS bucket "${ctx.bucketName}" does not exist (NoSuchBucket)`;
  }
  if (status === 404) return `GCS object ${at} does not exist (${code})`;
  if (status === 401 || status === 403) return `GCS denied ${op} on ${at}: ${text} (${code})`;
  if (code === 'FILE_NO_UPLOAD') return `GCS ${op} of ${at}: stored bytes do not match what was sent, object deleted (${code})`;
  return `GCS ${op} on ${at} failed: ${text} (${code})`;
}

export function gcsError(ctx: GcsErrorContext, err: unknown, op: string, key?: string, missing: Missing = 'object',
  signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason;
  if (err instanceof StorageError || err instanceof SourceReadError) return err;
  const setup = configurationFailure(err);
  if (setup !== undefined) return new StorageError(setup.message, { permanent: true, code: setup.code, cause: err });
  const status = statusOf(err);
  // Only create-only puts send a precondition (ifGenerationMatch=0), so a 412 is their refusal.
  if (status === 412) return alreadyExistsError(`GCS object gs://${ctx.bucketName}/${key ?? ''}`, codeOf(err, status), err);
  const bucketGone = status === 404 && (missing === 'bucket' || /bucket/i.test(String((err as Error)?.message)));
  const code = bucketGone ? 'NoSuchBucket' : codeOf(err, status);
  const permanent = status === 401 || status === 403 || status === 404 || code === 'FILE_NO_UPLOAD_DELETE';
  return new StorageError(describe(ctx, op, key, code, status, missing, err), { permanent, code, cause: err });
}

/**
 * Failures only the operator can fix: no credentials (the library then sends requests unauthenticated and reports
 * the missing credentials when GCS answers 401), or an endpoint host that does not exist.
 */
function configurationFailure(err: unknown): { message: string; code: string } | undefined {
  if (isMissingGoogleCredentials(err)) return { message: missingGoogleCredentialsMessage(err), code: 'NoCredentials' };
  const host = unresolvedHost(err);
  return host === undefined ? undefined : { message: unresolvedHostMessage('GCS', host, '--gcs-endpoint'), code: 'ENOTFOUND' };
}
