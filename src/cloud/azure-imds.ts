// Azure Instance Metadata Service: is this an Azure VM, and which one?
import type { CloudFacts } from '../domain.ts';

/** The link-local address every Azure VM's metadata service answers on. */
export const DEFAULT_AZURE_METADATA_ENDPOINT = 'http://169.254.169.254';
export const AZURE_METADATA_ENDPOINT_ENV = 'AZURE_METADATA_ENDPOINT';

/** The oldest API version that has every field read here; a pinned version keeps the answer's shape fixed. */
const INSTANCE_PATH = '/metadata/instance?api-version=2021-02-01';

export interface AzureProbeOptions {
  /** Base URL, e.g. `http://169.254.169.254`; a trailing slash is tolerated. */
  readonly endpoint: string;
  /** Bound on the whole probe. */
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

/** The endpoint to probe: AZURE_METADATA_ENDPOINT (for tests and unusual networks), else the link-local address. */
export function azureMetadataEndpoint(env: NodeJS.ProcessEnv): string {
  return env[AZURE_METADATA_ENDPOINT_ENV]?.trim() || DEFAULT_AZURE_METADATA_ENDPOINT;
}

interface InstanceDocument {
  readonly compute?: {
    readonly vmId?: unknown; readonly name?: unknown; readonly osProfile?: { readonly computerName?: unknown };
    readonly location?: unknown; readonly zone?: unknown; readonly subscriptionId?: unknown; readonly azEnvironment?: unknown;
  };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** Facts from the instance document, or undefined when nothing answers like Azure's IMDS in time. Never throws. */
export async function probeAzure(options: AzureProbeOptions): Promise<CloudFacts | undefined> {
  const fetchFn = options.fetch ?? fetch;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    // `Metadata: true` is what the real service requires (it refuses requests without it, and any request that
    // came through a proxy with X-Forwarded-For); the JSON shape below tells it from another server on that address.
    const response = await fetchFn(`${options.endpoint.replace(/\/+$/, '')}${INSTANCE_PATH}`,
      { headers: { Metadata: 'true' }, redirect: 'error', signal });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const doc = (await response.json()) as InstanceDocument;
    const compute = doc.compute;
    const instanceId = text(compute?.vmId);
    if (compute === undefined || instanceId === undefined) return undefined;
    const hostname = text(compute.osProfile?.computerName) ?? text(compute.name);
    const region = text(compute.location);
    const zone = text(compute.zone);
    return {
      cloud: 'azure', instanceId,
      ...(hostname === undefined ? {} : { hostname }),
      ...(region === undefined ? {} : { region }),
      ...(zone === undefined ? {} : { zone }),
    };
  } catch {
    // Refused, reset, timed out, aborted, not JSON: all mean "not Azure".
    return undefined;
  }
}
