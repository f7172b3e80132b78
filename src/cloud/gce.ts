// GCE metadata server: is this a Compute Engine VM, and which one?
import type { CloudFacts } from '../domain.ts';

/**
 * The metadata server's IP. Google's libraries default to it rather than `metadata.google.internal` because a DNS
 * lookup of that name off GCE can be slow or, with a search domain, resolve to something else entirely.
 */
export const DEFAULT_GCE_METADATA_HOST = '169.254.169.254';

export interface GceProbeOptions {
  /** `host[:port]`, or a base URL with an http(s) scheme. */
  readonly host: string;
  /** Bound on the whole probe, not per request. */
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  /** Lets a caller cancel the probe early, e.g. once another cloud has answered. */
  readonly signal?: AbortSignal;
}

/**
 * The host to probe. Same variables and precedence as gcp-metadata (used by @google-cloud/storage for credentials):
 * GCE_METADATA_IP, then GCE_METADATA_HOST, so detection and credentials ask the same server.
 */
export function gceMetadataHost(env: NodeJS.ProcessEnv): string {
  return env['GCE_METADATA_IP']?.trim() || env['GCE_METADATA_HOST']?.trim() || DEFAULT_GCE_METADATA_HOST;
}

/** Facts from the GCE metadata server, or undefined when nothing answers like it in time. Never throws. */
export async function probeGcp(options: GceProbeOptions): Promise<CloudFacts | undefined> {
  const fetchFn = options.fetch ?? fetch;
  const base = `${baseUrl(options.host)}/computeMetadata/v1/`;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const get = (path: string) => getText(fetchFn, base + path, signal);
  try {
    const [instanceId, zonePath, hostname, projectId] = await Promise.all([
      get('instance/id'), get('instance/zone'), get('instance/hostname'), get('project/project-id'),
    ]);
    if (!instanceId) return undefined;
    // The server answers `projects/<number>/zones/<zone>`; only the last segment is the zone's name.
    const zone = zonePath?.split('/').at(-1) || undefined;
    return { cloud: 'gcp', instanceId, hostname, region: zone ? regionOfZone(zone) : undefined, zone, projectId };
  } catch {
    // Refused, reset, timed out, aborted, or an impostor without the flavor header: all mean "not GCE".
    return undefined;
  }
}

/** `us-central1-a` -> `us-central1`. A zone is always its region plus one `-<letter>` suffix. */
export function regionOfZone(zone: string): string {
  const dash = zone.lastIndexOf('-');
  return dash > 0 ? zone.slice(0, dash) : zone;
}

function baseUrl(host: string): string {
  const withScheme = /^https?:\/\//i.test(host) ? host : `http://${host}`;
  return withScheme.replace(/\/+$/, '');
}

async function getText(fetchFn: typeof fetch, url: string, signal: AbortSignal): Promise<string | undefined> {
  const response = await fetchFn(url, { headers: { 'Metadata-Flavor': 'Google' }, redirect: 'error', signal });
  // The response header is what tells the real server from any HTTP server that happens to listen there
  // (a proxy, another cloud's metadata service); without it nothing here is GCE, not even a 200.
  if (response.headers.get('metadata-flavor') !== 'Google') {
    await response.body?.cancel();
    throw new Error(`${url} answered without Metadata-Flavor: Google`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    return undefined;
  }
  const text = (await response.text()).trim();
  return text === '' ? undefined : text;
}
