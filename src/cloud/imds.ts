// AWS instance metadata (IMDSv2): is this an EC2 instance, and which one?
import type { CloudFacts } from '../domain.ts';

/** The link-local address every EC2 instance answers on (the SDK's IPv4 default). */
export const DEFAULT_AWS_METADATA_ENDPOINT = 'http://169.254.169.254';

export interface AwsProbeOptions {
  /** Base URL, e.g. `http://169.254.169.254`; a trailing slash is tolerated. */
  readonly endpoint: string;
  /** Bound on the whole probe (token and every read), not per request. */
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  /** Lets a caller cancel the probe early, e.g. once another cloud has answered. */
  readonly signal?: AbortSignal;
}

/**
 * The endpoint to probe, or undefined when the operator disabled IMDS. Same variables and semantics as the AWS SDK
 * (any value of AWS_EC2_METADATA_DISABLED but "false" disables), so detection and credentials agree.
 */
export function awsMetadataEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  const disabled = env['AWS_EC2_METADATA_DISABLED']?.trim();
  if (disabled && disabled.toLowerCase() !== 'false') return undefined;
  return env['AWS_EC2_METADATA_SERVICE_ENDPOINT']?.trim() || DEFAULT_AWS_METADATA_ENDPOINT;
}

/** Facts from IMDSv2, or undefined when nothing answers like IMDS in time. Never throws. */
export async function probeAws(options: AwsProbeOptions): Promise<CloudFacts | undefined> {
  const fetchFn = options.fetch ?? fetch;
  const base = options.endpoint.replace(/\/+$/, '');
  const signal = probeSignal(options.timeoutMs, options.signal);
  try {
    const token = await fetchToken(fetchFn, base, signal);
    if (token === undefined) return undefined;
    const get = (path: string) => getText(fetchFn, `${base}/latest/${path}`, token, signal);
    const [instanceId, hostname, region, zone] = await Promise.all([
      get('meta-data/instance-id'),
      // Some instances (e.g. without DNS hostnames in their VPC) have no public `hostname`, only `local-hostname`.
      get('meta-data/hostname').then((h) => h ?? get('meta-data/local-hostname')),
      // placement/region appeared later than the identity document; old instances have only the latter.
      get('meta-data/placement/region').then((r) => r ?? regionFromIdentity(get)),
      get('meta-data/placement/availability-zone'),
    ]);
    if (!instanceId) return undefined;
    return { cloud: 'aws', instanceId, hostname, region, zone };
  } catch {
    // Refused, reset, timed out or aborted: all mean "not AWS (or IMDS unreachable)" to the caller.
    return undefined;
  }
}

function probeSignal(timeoutMs: number, outer: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return outer ? AbortSignal.any([timeout, outer]) : timeout;
}

async function fetchToken(fetchFn: typeof fetch, base: string, signal: AbortSignal): Promise<string | undefined> {
  const response = await fetchFn(`${base}/latest/api/token`, {
    method: 'PUT',
    // 300 s is ample: the token is used only for the few reads below.
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' },
    redirect: 'error',
    signal,
  });
  return okText(response);
}

async function getText(
  fetchFn: typeof fetch, url: string, token: string, signal: AbortSignal,
): Promise<string | undefined> {
  const response = await fetchFn(url, { headers: { 'X-aws-ec2-metadata-token': token }, redirect: 'error', signal });
  return okText(response);
}

/** Trimmed body of a 2xx answer; undefined (body discarded) for anything else or an empty body. */
async function okText(response: Response): Promise<string | undefined> {
  if (!response.ok) {
    await response.body?.cancel();
    return undefined;
  }
  const text = (await response.text()).trim();
  return text === '' ? undefined : text;
}

async function regionFromIdentity(get: (path: string) => Promise<string | undefined>): Promise<string | undefined> {
  const document = await get('dynamic/instance-identity/document');
  if (document === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(document);
    if (typeof parsed === 'object' && parsed !== null && 'region' in parsed && typeof parsed.region === 'string') {
      return parsed.region;
    }
  } catch {
    // A malformed document only costs us the region.
  }
  return undefined;
}
