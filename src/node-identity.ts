// Who this machine is in the bucket: cloud facts, hostname and node id, checked against the identity its state
// directory remembers. Every command identifies the machine here, so that a metadata outage, a throttled metadata
// service or a replaced instance never silently moves a node's backups to another prefix (DESIGN section 10).
import { setTimeout as delay } from 'node:timers/promises';
import type { CloudFacts } from './domain.ts';
import type { GlobalOptions } from './config/options.ts';
import { UsageError } from './errors.ts';
import { cloudFromDmi, defaultProbes, detectCloud, readDmi, type DmiInfo, type Probes } from './cloud/detect.ts';
import { nodeId as deriveNodeId } from './cloud/node-id.ts';
import {
  nextRemembered, readRememberedIdentity, writeRememberedIdentity, type RememberedIdentity,
} from './cloud/remembered-identity.ts';
import {
  changedNodeIdMessage, expectedCloud, retrySlots, silentMetadataMessage, RETRY_BUDGET_MS, type Expectation,
} from './cloud/identity-policy.ts';
import { rememberedIdentityPath } from './state-dir.ts';
import { resolveDataDirs, type ResolveDataDirsInput, type ResolvedDataDirs } from './cassandra/data-dirs.ts';

/**
 * How a command uses the remembered identity:
 * - `required` (backup commands): an unreadable or unwritable file is an error, like the rest of the state dir;
 * - `best-effort` (catalog commands, which may run where the state dir is not theirs): an unreadable file is
 *   ignored with a warning and a failed write is ignored;
 * - `read-only` (detect, dry runs): read as best-effort, never written.
 * A malformed file is an error in every mode (something other than this tool wrote it), unless --node-id is given.
 */
export type RememberMode = 'required' | 'best-effort' | 'read-only';

export interface IdentifyInput {
  readonly options: Pick<GlobalOptions, 'cloud' | 'nodeId' | 'metadataTimeoutMs'>;
  /** The process's view of the machine (AppIo has these fields). */
  readonly machine: {
    /** os.hostname(), as given. */
    readonly hostname: string;
    readonly env: NodeJS.ProcessEnv;
    readonly now: () => Date;
    readonly signal?: AbortSignal;
  };
  readonly stateDir: string;
  readonly remember: RememberMode;
  readonly warn: (message: string) => void;
  /** Replacements for tests; the real probes, DMI reader, timer and budget otherwise. */
  readonly detection?: {
    readonly probes?: Probes;
    readonly readDmi?: () => Promise<DmiInfo>;
    /** Resolves after `ms`; rejects once `signal` aborts. */
    readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
    readonly retryBudgetMs?: number;
  };
}

export interface MachineIdentity {
  readonly cloud: CloudFacts;
  /** The full host name (os.hostname()): the manifest's hostname fact and the off-cloud node id. */
  readonly hostname: string;
  readonly nodeId: string;
  /** What the state directory remembered before this run; undefined when nothing (or nothing readable). */
  readonly remembered: RememberedIdentity | undefined;
  readonly rememberedPath: string;
}

/**
 * The machine's identity. `--node-id` is used as given (detection still runs once, for the cloud facts; nothing is
 * checked or remembered: it may name another node, e.g. to restore its backups). Otherwise the node id is derived
 * (node-id.ts) and, under `--cloud auto`, refused with a UsageError when it would differ from the remembered one,
 * or when a cloud is expected (remembered, or named by DMI) but its metadata service stays silent through a
 * bounded series of retries. An explicit `--cloud` is the operator's decision: accepted and remembered.
 */
export async function identifyMachine(input: IdentifyInput): Promise<MachineIdentity> {
  const { options, machine } = input;
  const rememberedPath = rememberedIdentityPath(input.stateDir);
  const { remembered, usable } = await loadRemembered(rememberedPath, input);
  const probes = input.detection?.probes ?? defaultProbes(machine.env);
  const dmi = await (input.detection?.readDmi ?? readDmi)();
  const detect = (timeoutMs: number) =>
    detectCloud({ mode: options.cloud, env: machine.env, timeoutMs, probes, readDmi: async () => dmi });
  const hostname = machine.hostname;
  let cloud = await detect(options.metadataTimeoutMs);
  if (options.nodeId !== undefined) {
    return { cloud, hostname, nodeId: deriveNodeId({ override: options.nodeId, facts: cloud, hostname }), remembered, rememberedPath };
  }
  const auto = options.cloud === 'auto';
  if (auto && cloud.cloud === 'none') {
    const hint = cloudFromDmi(dmi);
    const expected = expectedCloud({ remembered, dmiHint: hint, hintProbed: hint !== undefined && probes[hint] !== undefined });
    if (expected) cloud = await retryDetection(detect, expected, input, rememberedPath);
  }
  const nodeId = deriveNodeId({ facts: cloud, hostname });
  if (auto && remembered && remembered.nodeId !== nodeId) {
    throw new UsageError(changedNodeIdMessage({ remembered, rememberedPath, nodeId, hostname, cloud }));
  }
  if (input.remember !== 'read-only' && usable) {
    await saveRemembered(rememberedPath, nextRemembered(remembered, { nodeId, hostname, cloud }, machine.now()), input);
  }
  return { cloud, hostname, nodeId, remembered, rememberedPath };
}

/** The machine's identity and its Cassandra data directories (backup commands and detect), found in parallel. */
export async function identifyNode(
  input: IdentifyInput, dataDirs: ResolveDataDirsInput,
): Promise<MachineIdentity & { readonly dataDirs: ResolvedDataDirs }> {
  const [machine, dirs] = await Promise.all([identifyMachine(input), resolveDataDirs(dataDirs)]);
  return { ...machine, dataDirs: dirs };
}

/** `usable` is false when a file exists that this run could not read: it must not be replaced blindly. */
async function loadRemembered(
  path: string, input: IdentifyInput,
): Promise<{ remembered: RememberedIdentity | undefined; usable: boolean }> {
  const read = await readRememberedIdentity(path);
  switch (read.kind) {
    case 'none':
      return { remembered: undefined, usable: true };
    case 'found':
      return { remembered: read.identity, usable: true };
    case 'malformed':
      if (input.options.nodeId !== undefined) {
        // --node-id does not use it, and is what the message below offers as the way past it.
        input.warn(`${path} is not an identity this tool remembered (${read.reason}); ignored with --node-id`);
        return { remembered: undefined, usable: false };
      }
      throw new UsageError(`${path} is not an identity this tool remembered (${read.reason}); fix or remove it ` +
        `(it is then written afresh from what this run detects), or pass --node-id`);
    case 'unreadable':
      if (input.remember === 'required') {
        throw new UsageError(`cannot read the remembered identity ${path} (${read.reason}); set --state-dir or CASS_BACKUP_STATE_DIR`);
      }
      input.warn(`cannot read the remembered identity ${path} (${read.reason}); identifying this node without it`);
      return { remembered: undefined, usable: false };
  }
}

async function saveRemembered(path: string, identity: RememberedIdentity, input: IdentifyInput): Promise<void> {
  try {
    await writeRememberedIdentity(path, identity);
  } catch (err) {
    if (input.remember !== 'required') return; // catalog commands do not need the state dir
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new UsageError(`cannot remember this node's identity in ${path} (${reason}); set --state-dir or CASS_BACKUP_STATE_DIR`);
  }
}

/** Detection again, in growing slots (identity-policy.ts), until the expected cloud (or any) answers; else refuses. */
async function retryDetection(
  detect: (timeoutMs: number) => Promise<CloudFacts>, expected: Expectation, input: IdentifyInput, rememberedPath: string,
): Promise<CloudFacts> {
  const firstMs = input.options.metadataTimeoutMs;
  const slots = retrySlots(firstMs, input.detection?.retryBudgetMs ?? RETRY_BUDGET_MS);
  const sleep = input.detection?.sleep ?? ((ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }));
  const reason = expected.because === 'remembered' ? 'this node was identified on it before' : 'the firmware (DMI) names it';
  input.warn(`no ${expected.cloud} metadata answered although ${reason}; ` +
    `retrying for up to ${seconds(slots.reduce((a, b) => a + b, 0))} s`);
  for (const slot of slots) {
    const slotDone = new AbortController();
    const outer = input.machine.signal;
    const waited = sleep(slot, outer ? AbortSignal.any([slotDone.signal, outer]) : slotDone.signal);
    waited.catch(() => undefined); // awaited below, unless the slot is cut short by an answer
    const facts = await detect(slot);
    if (facts.cloud !== 'none') {
      slotDone.abort();
      return facts;
    }
    await waited; // a refusal comes at once: the slot is waited out, so the service gets time to come back
  }
  const totalMs = firstMs + slots.reduce((a, b) => a + b, 0);
  throw new UsageError(silentMetadataMessage({
    expected, attempts: 1 + slots.length, seconds: seconds(totalMs), rememberedPath,
    offCloudNodeId: input.machine.hostname,
  }));
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
