// Credentials that cannot be found: recognised for each cloud SDK, and told as one line that names where the SDK's
// default chain looks (the tool never takes keys itself). Permanent: no retry makes them appear.
import { SourceReadError } from '../errors.ts';

const AWS_SOURCES = 'the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), a profile (AWS_PROFILE, ' +
  '~/.aws/credentials, ~/.aws/config), web identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN), the container ' +
  'role, or the instance role from the metadata service';

const GOOGLE_SOURCES = 'GOOGLE_APPLICATION_CREDENTIALS (a key or credentials file), the application default ' +
  'credentials of `gcloud auth application-default login` (~/.config/gcloud), or the service account of the ' +
  'instance from the metadata server';

/** The AWS SDK's credential chain found nothing usable (or could not read a file it was pointed at). */
export function isMissingAwsCredentials(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (['CredentialsProviderError', 'ProviderError', 'TokenProviderError'].includes(err.name)) return true;
  return sdkFileError(err) !== undefined;
}

export function missingAwsCredentialsMessage(err: unknown): string {
  const file = err instanceof Error ? sdkFileError(err) : undefined;
  if (file !== undefined) {
    return `the AWS SDK could not read ${file.path} while looking for credentials (${file.code}): check ` +
      'AWS_WEB_IDENTITY_TOKEN_FILE, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE';
  }
  const text = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return `no AWS credentials: the SDK looked in ${AWS_SOURCES}, and found none it could use (${text}); ` +
    'give the instance a role, or set one of those';
}

/**
 * A file error out of the SDK itself: the chain reading a token, credentials or config file that is missing or
 * unreadable. (A file being uploaded fails as a SourceReadError, which the adapters pass on before asking this.)
 */
function sdkFileError(err: Error): { path: string; code: string } | undefined {
  if (err instanceof SourceReadError) return undefined;
  const { code, path } = err as Error & { code?: unknown; path?: unknown };
  return typeof code === 'string' && typeof path === 'string' && /^E[A-Z]+$/.test(code) ? { path, code } : undefined;
}

/** Google's Application Default Credentials found nothing, or could not read the file they were pointed at. */
export function isMissingGoogleCredentials(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /Could not load the default credentials|Unable to read the credential file|GOOGLE_APPLICATION_CREDENTIALS/.test(err.message);
}

export function missingGoogleCredentialsMessage(err: unknown): string {
  const text = err instanceof Error ? err.message.split('\n')[0]?.replace(/\. Browse to .*$/, '') : String(err);
  return `no Google Cloud credentials: Application Default Credentials look in ${GOOGLE_SOURCES}, and found none ` +
    `they could use (${text}); attach a service account to the instance, or set GOOGLE_APPLICATION_CREDENTIALS`;
}
