// Which cloud is this node in? Asks every metadata service at once (AWS, GCE, Azure) and takes the first real answer.
import { readFile } from 'node:fs/promises';
import type { Cloud, CloudFacts } from '../domain.ts';
import { gceMetadataHost, probeGcp } from './gce.ts';
import { awsMetadataEndpoint, probeAws } from './imds.ts';
import { AZURE_METADATA_ENDPOINT_ENV, azureMetadataEndpoint, probeAzure } from './azure-imds.ts';

export type CloudMode = 'auto' | Cloud;
type ProbedCloud = Exclude<Cloud, 'none'>;

/** Asks one metadata service; resolves undefined when it does not answer. Must honour `signal`. */
export type Probe = (options: { readonly timeoutMs: number; readonly signal: AbortSignal }) =>
  Promise<CloudFacts | undefined>;

/** A missing probe is never run: AWS when IMDS is disabled, or whatever a test leaves out. */
export interface Probes {
  readonly aws?: Probe | undefined;
  readonly gcp?: Probe | undefined;
  readonly azure?: Probe | undefined;
}

/** The DMI (SMBIOS) strings the kernel exposes under /sys/class/dmi/id/. */
export interface DmiInfo {
  readonly sysVendor?: string | undefined;
  readonly productName?: string | undefined;
  readonly biosVendor?: string | undefined;
}

export interface DetectOptions {
  readonly mode: CloudMode;
  readonly env: NodeJS.ProcessEnv;
  /** Bound on the whole detection. On a cloud the metadata service answers in milliseconds. */
  readonly timeoutMs?: number;
  /** Replaces the probes built from `env` (all of them: a cloud left out is not probed). */
  readonly probes?: Probes;
  readonly readDmi?: () => Promise<DmiInfo>;
}

export const DEFAULT_DETECT_TIMEOUT_MS = 1000;

/**
 * Cloud facts for this machine. `auto` returns `{cloud: 'none'}` when no metadata service answers; a forced
 * `aws`/`gcp` returns `{cloud}` without instance facts in that case, and the caller decides whether that is fatal.
 * Never throws for network errors.
 */
export async function detectCloud(options: DetectOptions): Promise<CloudFacts> {
  const { mode, env } = options;
  if (mode === 'none') return { cloud: 'none' };
  const timeoutMs = options.timeoutMs ?? DEFAULT_DETECT_TIMEOUT_MS;
  const probes = options.probes ?? defaultProbes(env);
  if (mode !== 'auto') return (await firstAnswer(candidates(probes, [mode]), timeoutMs)) ?? { cloud: mode };
  const hint = cloudFromDmi(await (options.readDmi ?? readDmi)());
  const clouds = hint === undefined ? PROBED : probedDespiteHint(hint, env);
  return (await firstAnswer(candidates(probes, clouds), timeoutMs, hint)) ?? { cloud: 'none' };
}

/** The real probes, pointed where the SDKs' own variables point them. */
export function defaultProbes(env: NodeJS.ProcessEnv): Probes {
  const endpoint = awsMetadataEndpoint(env);
  const host = gceMetadataHost(env);
  const azure = azureMetadataEndpoint(env);
  return {
    aws: endpoint === undefined ? undefined : (o) => probeAws({ endpoint, ...o }),
    gcp: (o) => probeGcp({ host, ...o }),
    azure: (o) => probeAzure({ endpoint: azure, ...o }),
  };
}

const PROBED: readonly ProbedCloud[] = ['aws', 'gcp', 'azure'];

/** Which cloud the firmware names, if any. Xen-based EC2 instances say only "Xen": no hint, both probes run. */
export function cloudFromDmi(dmi: DmiInfo): ProbedCloud | undefined {
  const vendors = [dmi.sysVendor, dmi.biosVendor].map((v) => v?.trim() ?? '');
  if (vendors.some((v) => v.startsWith('Amazon EC2'))) return 'aws';
  if (dmi.productName?.trim() === 'Google Compute Engine' || vendors.includes('Google')) return 'gcp';
  // No hint for Azure: its VMs say "Microsoft Corporation" / "Virtual Machine" like any Hyper-V guest on premises,
  // where a hint would wrongly demand an answer from Azure's metadata service. Without a hint every probe runs.
  return undefined;
}

/** Reads the DMI strings; any that cannot be read (not Linux, containers without /sys) are simply absent. */
export async function readDmi(): Promise<DmiInfo> {
  const read = (name: string) => readFile(`/sys/class/dmi/id/${name}`, 'utf8').then((s) => s.trim(), () => undefined);
  const [sysVendor, productName, biosVendor] = await Promise.all([read('sys_vendor'), read('product_name'),
    read('bios_vendor')]);
  return { sysVendor, productName, biosVendor };
}

/**
 * A DMI hint skips the other cloud's probe, unless its endpoint was set explicitly: an operator (or a test running
 * the CLI on some cloud VM) who points a metadata variable at a server wants that server asked.
 */
function probedDespiteHint(hint: ProbedCloud, env: NodeJS.ProcessEnv): ProbedCloud[] {
  const explicit: Record<ProbedCloud, boolean> = {
    aws: Boolean(env['AWS_EC2_METADATA_SERVICE_ENDPOINT']?.trim()),
    gcp: Boolean(env['GCE_METADATA_HOST']?.trim() || env['GCE_METADATA_IP']?.trim()),
    azure: Boolean(env[AZURE_METADATA_ENDPOINT_ENV]?.trim()),
  };
  return PROBED.filter((cloud) => cloud === hint || explicit[cloud]);
}

interface Candidate {
  readonly cloud: ProbedCloud;
  readonly probe: Probe;
}

function candidates(probes: Probes, clouds: readonly ProbedCloud[]): Candidate[] {
  return clouds.flatMap((cloud) => {
    const probe = probes[cloud];
    return probe ? [{ cloud, probe }] : [];
  });
}

/** Runs the probes in parallel; the preferred cloud's answer wins, otherwise the first answer does. */
async function firstAnswer(
  all: readonly Candidate[], timeoutMs: number, preferred?: ProbedCloud,
): Promise<CloudFacts | undefined> {
  const controller = new AbortController();
  // A plain (ref'd) timer rather than AbortSignal.timeout, whose timer is unref'd: a probe that holds no socket
  // must not let the process exit with detection still pending.
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const running = all.map((c) => ({ cloud: c.cloud, answer: settle(c.probe, timeoutMs, controller.signal) }));
    const first = running.find((r) => r.cloud === preferred);
    const preferredAnswer = first && (await first.answer);
    return preferredAnswer ?? (await firstDefined(running.filter((r) => r !== first).map((r) => r.answer)));
  } finally {
    clearTimeout(timer);
    controller.abort(); // Cancels the probes that lost, so their sockets do not linger.
  }
}

/** The probe's answer, or undefined once it throws or `signal` aborts, whether or not the probe notices. */
function settle(probe: Probe, timeoutMs: number, signal: AbortSignal): Promise<CloudFacts | undefined> {
  return new Promise((resolve) => {
    const giveUp = () => resolve(undefined);
    if (signal.aborted) return giveUp();
    signal.addEventListener('abort', giveUp, { once: true });
    const done = (facts: CloudFacts | undefined) => {
      signal.removeEventListener('abort', giveUp);
      resolve(facts);
    };
    // The async wrapper turns a probe that throws synchronously into a rejection.
    (async () => probe({ timeoutMs, signal }))().then(done, () => done(undefined));
  });
}

function firstDefined<T>(promises: readonly Promise<T | undefined>[]): Promise<T | undefined> {
  return new Promise((resolve) => {
    let pending = promises.length;
    if (pending === 0) resolve(undefined);
    for (const promise of promises) {
      void promise.then((value) => {
        pending -= 1;
        if (value !== undefined || pending === 0) resolve(value);
      });
    }
  });
}
